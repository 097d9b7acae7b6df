"""µs to render one e-mail: `EmailMessage` (the old way) against `mail.render` (`email.mime` + quoted-printable).

    uv run python -m bench.mail_render [--number 5000] [--repeats 5]

Renders the welcome e-mail both ways, alternating blocks, and prints the median µs per message
of the repeats: rendered only (what the job builds), and rendered then flattened to bytes the
way aiosmtplib does before it sends.
"""

from __future__ import annotations

import argparse
import timeit
from collections.abc import Callable
from email.message import EmailMessage, Message

from aiosmtplib.email import flatten_message

from app.core.mail import _TEMPLATES, _escape_html, render
from bench.common import load_average, median

VALUES = {
    "name": "Zoë Example",
    "email": "zoe@example.com",
    "verify_url": "https://app.example.com/verify-email?token=Vx1uQ2oN4c8yPz5bq3sLk7eR0tWm9aHd",
}


def email_message(template: str, *, to: str, subject: str, **values: str) -> Message:
    """`mail.render` as it was: `EmailMessage` with the default policy."""
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = subject
    message.set_content(_TEMPLATES[f"{template}.txt"].substitute(values))
    html_values = {key: _escape_html(value) for key, value in values.items()}
    message.add_alternative(_TEMPLATES[f"{template}.html"].substitute(html_values), subtype="html")
    return message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=5000, help="messages per block")
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    print(f"load average {load_average()}")
    ways: dict[str, Callable[..., Message]] = {"EmailMessage (old)": email_message, "email.mime + QP": render}
    results: dict[str, dict[str, list[float]]] = {name: {"render": [], "render + flatten": []} for name in ways}
    for _ in range(arguments.repeats):
        for name, build in ways.items():

            def rendered(build: Callable[..., Message] = build) -> Message:
                return build("welcome", to="zoe@example.com", subject="Welcome!", **VALUES)

            def flattened(rendered: Callable[[], Message] = rendered) -> bytes:
                return flatten_message(rendered())

            number = arguments.number
            results[name]["render"].append(timeit.timeit(rendered, number=number) / number * 1e6)
            flat = timeit.timeit(flattened, number=number // 5)
            results[name]["render + flatten"].append(flat / (number // 5) * 1e6)
    for name, kinds in results.items():
        print(f"{name:<20} " + "  ".join(f"{kind} {median(samples):7.0f} µs" for kind, samples in kinds.items()))


if __name__ == "__main__":
    main()
