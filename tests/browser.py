"""Open a rendered report in real headless Chromium (Debian's package) and inspect it.

Used by the report tests. Playwright drives the system Chromium (``/usr/bin/chromium``); it
never downloads a browser of its own. Where Chromium is absent the tests skip with the reason,
except under ``CI=true`` where they fail (the project's set-up installs it there).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from conftest import skip_unless_ci

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]

# Draws a string on a canvas in the page's own font and compares the pixels with the
# "missing glyph" boxes of private-use code points: equal pixels mean the text fell back to tofu.
CJK_RENDERS_JS = """
(text) => {
  const font = '32px ' + getComputedStyle(document.body).fontFamily;
  const draw = (s) => {
    const c = document.createElement('canvas'); c.width = 400; c.height = 60;
    const g = c.getContext('2d'); g.font = font; g.fillStyle = '#000'; g.fillText(s, 10, 45);
    return c.toDataURL();
  };
  const tofu = String.fromCodePoint(...Array.from(text).map((_, i) => 0xE000 + i));
  return draw(text) !== draw(tofu) && draw(text) !== draw('');
}
"""


@dataclass
class PageReport:
    """What a page did when it loaded."""

    title: str
    text: str
    html: str
    images: int
    broken_images: list[str]
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    cjk_renders: bool = False
    screenshot: Path | None = None
    dialogs: list[str] = field(default_factory=list)
    layout: dict = field(default_factory=dict)


# What the report's layout tests read: sideways overflow, the client part's height, the appendix's state.
LAYOUT_JS = """
() => {
  const client = document.getElementById('client');
  const details = Array.from(document.querySelectorAll('#appendix details'));
  return {
    scroll_width: document.documentElement.scrollWidth, inner_width: window.innerWidth,
    client_height: client ? Math.round(client.getBoundingClientRect().bottom + window.scrollY) : null,
    page_height: document.documentElement.scrollHeight,
    appendix_sections: details.length, appendix_open: details.filter(d => d.open).length,
    appendix_texts: details.map(d => d.textContent),
    appendix_text: details.map(d => d.textContent).join('\\n'),
    client_text: client ? client.innerText : '',
    // each key figure as shown: which rendering the browser chose (a piece of its data URI), its CSS width
    // on the page and its pixel width (the PNGs are drawn at 2 pixels per CSS pixel)
    figures: Array.from(document.querySelectorAll('#figures img')).map(i => ({
      key: (i.currentSrc || '').slice(-400, -300), shown_width: i.getBoundingClientRect().width,
      natural_width: i.naturalWidth })),
  };
}
"""


def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        skip_unless_ci("Debian's chromium is not installed (make test installs it when run as root)",
                       under_ci="CI's set-up installs it")
    return path


def open_report(path: Path, *, width: int = 390, screenshot: Path | None = None, full_page: bool = False) -> PageReport:
    """Load ``path`` offline in headless Chromium (phone width by default) and collect what happened.

    Any ``alert()`` a page manages to call is recorded in ``dialogs`` (and dismissed).
    """
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    failed: list[str] = []
    dialogs: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": width, "height": 844})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            # offline: any request leaving the file is blocked, so a page that needs the network fails here
            page.route("http*://**", lambda route: route.abort())
            page.goto(path.resolve().as_uri(), wait_until="load")
            broken = page.evaluate(
                "() => Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                ".map(i => (i.src || '').slice(0, 60))"
            )
            n_images = page.evaluate("() => document.images.length")
            sample = page.evaluate(
                "() => (document.body.innerText.match(/[\\u4e00-\\u9fff]{4}/) || [''])[0]"
            )
            cjk = bool(sample) and page.evaluate(CJK_RENDERS_JS, sample)
            if screenshot is not None:
                page.screenshot(path=str(screenshot), full_page=full_page)
            layout = page.evaluate(LAYOUT_JS)
            return PageReport(
                title=page.title(), text=page.evaluate("() => document.body.innerText"), html=page.content(),
                images=n_images, broken_images=broken, console_errors=errors, failed_requests=failed,
                cjk_renders=cjk, screenshot=screenshot, dialogs=dialogs, layout=layout,
            )
        finally:
            browser.close()
