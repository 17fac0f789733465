"""Sphinx configuration of the course's static site (`make site`; built by tools/build_site.py).

The site renders the committed outputs of the lessons (nothing is executed) and must work with
no network at build or view time: MathJax is served from the site itself, the theme's assets
are bundled by the theme package, and no page loads anything from another host.
"""

project = "Which cross-entropy?"
author = "the course authors"
copyright = "the course authors"

extensions = ["myst_nb"]
# The lessons are rendered from their stored outputs; the exercises and apps have none.
nb_execution_mode = "off"
# display(Markdown(...)) outputs (tables) are MyST, not CommonMark with raw pipes.
nb_render_markdown_format = "myst"
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

exclude_patterns = ["_build"]
html_theme = "sphinx_book_theme"
html_title = "Which cross-entropy?"
html_static_path = ["_static"]
html_theme_options = {
    "show_toc_level": 2,
    "navigation_with_keys": True,
    "use_download_button": False,
    "use_fullscreen_button": False,
}
# The light theme by default: no console error about a stored mode on file:// pages.
html_context = {"default_mode": "light"}
# MathJax 3 from the site's own _static folder (copied there by tools/build_site.py from the
# sphinx-mathjax-offline wheel); Sphinx's default points at a CDN.
mathjax_path = "mathjax/tex-chtml.js"
# Search result summaries fetch each page, which browsers refuse on file:// pages.
html_show_search_summary = False
html_show_sourcelink = False
html_copy_source = False
