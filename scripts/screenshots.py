"""Screenshot Hocvu's pages at phone and desktop width, to look at what learners and admins see.

Usage: .venv/bin/python scripts/screenshots.py BASE_URL ADMIN_PASSWORD [OUT_DIR]
against a server started with `make run` (demo data loaded).
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

ADMIN_PAGES = [
    ("admin", "/admin/"),
    ("units", "/admin/units"),
    ("users", "/admin/users"),
    ("user-new", "/admin/users/new"),
    ("user-view", "/admin/users/2"),
    ("audit", "/admin/audit"),
]


def main(base: str, password: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        for width, height in ((360, 740), (1280, 800)):
            context = browser.new_context(
                base_url=base, viewport={"width": width, "height": height}
            )
            page = context.new_page()
            page.goto("/login")
            page.screenshot(path=out / f"login-{width}.png", full_page=True)
            page.get_by_label("Tên đăng nhập").fill("admin")
            page.get_by_label("Mật khẩu", exact=True).fill("sai")
            page.get_by_role("button", name="Đăng nhập").click()
            page.screenshot(path=out / f"login-error-{width}.png", full_page=True)
            page.get_by_label("Mật khẩu", exact=True).fill(password)
            page.get_by_role("button", name="Đăng nhập").click()
            page.screenshot(path=out / f"home-{width}.png", full_page=True)
            for name, path in ADMIN_PAGES:
                page.goto(path)
                page.screenshot(path=out / f"{name}-{width}.png", full_page=True)
            page.goto("/admin/users/new")
            page.get_by_role("button", name="Lưu").click()
            page.screenshot(path=out / f"user-new-errors-{width}.png", full_page=True)
            page.get_by_label("Họ và tên").fill("Nguyễn Thị Thu Hương")
            page.get_by_label("Tên đăng nhập").fill(f"hv.huong{width}")
            page.get_by_label("Đơn vị", exact=True).select_option(index=3)
            page.get_by_role("button", name="Lưu").click()
            page.screenshot(path=out / f"credentials-{width}.png", full_page=True)
            page.emulate_media(media="print")
            page.screenshot(path=out / f"credentials-print-{width}.png", full_page=True)
            page.emulate_media(media="screen")
            context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3] if len(sys.argv) > 3 else "screenshots"))
