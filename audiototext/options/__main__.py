"""``python -m audiototext.options`` prints the README's option tables."""

from . import markdown_table

print(markdown_table())
