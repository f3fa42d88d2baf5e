"""The demo: accounts, activities and summary reports generated from a data file.

`content.py` reads the data file (demo-2024.toml: every title, sentence, place and
figure range), `seed.py` turns it into rows dated from the campaign window and the
app's clock, `cli.py` is the `seed-demo` command.
"""
