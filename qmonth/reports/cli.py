"""flask --app app report ...: print reports from the command line."""
import click
from flask.cli import AppGroup

report_group = AppGroup("report", help="Print reports to files (PDF, DOCX).")
