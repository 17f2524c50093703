"""Take a headless-Chromium screenshot of the running Space, so its layout is seen, not assumed.

    python spaces_app/screenshot.py --model runs/quickstart/sft/final --out space.png

Needs Debian's `chromium` (`apt-get install chromium`). Starts the app on a free loopback port, waits until it
answers, optionally fills an example and asks (`--ask`), captures the page and stops the app.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=os.environ.get("BIOREASON_MODEL", "runs/quickstart/sft/final"))
    parser.add_argument("--out", default="space.png")
    parser.add_argument("--size", default="1440,1100")
    parser.add_argument("--timeout", type=float, default=180)
    args = parser.parse_args()
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if browser is None:
        raise SystemExit("No Chromium found: apt-get install chromium")

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    app = subprocess.Popen([sys.executable, str(Path(__file__).parent / "app.py"), "--model", args.model,
                            "--port", str(port)], env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.time() + args.timeout
        while time.time() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2)
                break
            except OSError as error:
                if app.poll() is not None:
                    raise SystemExit("The app exited before serving its page.") from error
                time.sleep(1)
        else:
            raise SystemExit(f"The app did not answer on {url} within {args.timeout:.0f} s.")
        subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--window-size={args.size}", "--virtual-time-budget=8000", f"--screenshot={args.out}", url],
                       check=True, capture_output=True, timeout=120)
        print(f"Saved {args.out}")
    finally:
        app.terminate()
        app.wait(timeout=30)


if __name__ == "__main__":
    main()
