"""What the `fake-stripe` command's own process imports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


HTTPX_CLI_PROBE = textwrap.dedent(
    """
    import sys
    from fake_stripe.cli.main import main
    {call}
    import httpx, stripe
    print(sorted(m for m in ("httpx._main", "rich", "click") if sys.modules.get(m) is not None))
    print(httpx.Client().base_url, stripe.StripeClient("sk_test_x").v1.customers is not None)
    """
)


@pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import rich, click"], capture_output=True).returncode
    != 0,
    reason="httpx has no command-line client to load without rich and click",
)
@pytest.mark.parametrize(
    ("call", "loaded"),
    [
        # As the command: httpx's own command-line client (rich, click) is left out.
        ("sys.argv = ['fake-stripe', 'scenarios', 'list']; main()", "[]"),
        # Called by a program with its arguments: httpx imports as it always does.
        ("main(['scenarios', 'list'])", "['click', 'httpx._main', 'rich']"),
    ],
)
def test_the_command_leaves_out_httpx_command_line_client(call: str, loaded: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", HTTPX_CLI_PROBE.format(call=call)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-2:] == [loaded, " True"]
