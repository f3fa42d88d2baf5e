from qmonth import create_app

app = create_app()
