"""Subscriber mail over SMTP: one session a sending thread, kept open across messages.

Pages send one mail now and then and connect for each (runner/escalation/notifiers.py); a send-out
to thousands of subscribers goes at the SMTP server's pace only if the connection, TLS and login
are made once. STARTTLS (or SSL, or none) and the login come from the `subscribers.email` settings
and the environment, as for pages.

What an answer means for the subscriber:
- 250: sent.
- 5xx to RCPT TO: the server refuses that recipient, a hard bounce; it counts towards suspending
  the subscriber (store.failed).
- any other 5xx (to MAIL FROM or DATA: the message or our account): failed for good, but it says
  nothing about the subscriber, so it does not count.
- 4xx, no connection, a timeout, a refused login: try again later (the server, or our settings,
  may be fixed meanwhile); when the tries run out it fails without counting.
Bounces that come back later as mail to the From address are not read.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage

from tidings.content.model import SubscriberMail
from tidings.runner.escalation.notifiers import one_line
from tidings.runner.subscribers.messages import RawMail
from tidings.runner.subscribers.outcome import Outcome


def _reply(error: bytes | str) -> str:
    return one_line(error.decode(errors="replace") if isinstance(error, bytes) else str(error))


class SmtpSession:
    """A connection to the subscriber mail server, opened on first use and again after a failure."""

    def __init__(self, settings: SubscriberMail, env: Mapping[str, str], timeout: float):
        self.settings = settings
        self.env = env
        self.timeout = timeout
        self.client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        client: smtplib.SMTP
        if s.security == "ssl":
            client = smtplib.SMTP_SSL(
                s.host, s.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        try:
            if s.security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if s.username_env:
                user = self.env.get(s.username_env, "")
                password = self.env.get(s.password_env, "") if s.password_env else ""
                if not user:
                    raise smtplib.SMTPException(f"the variable {s.username_env} is not set")
                client.login(user, password)
        except BaseException:
            client.close()
            raise
        return client

    def close(self) -> None:
        if self.client is not None:
            try:
                self.client.quit()
            except (smtplib.SMTPException, OSError):
                self.client.close()
            self.client = None

    def send(self, mail: EmailMessage | RawMail) -> Outcome:
        """One message; what happened, never an exception (the reply text, never the address)."""
        try:
            if self.client is None:
                self.client = self._connect()
            if isinstance(mail, RawMail):
                self.client.sendmail(mail.envelope_from, [mail.to], mail.data)
            else:
                self.client.send_message(mail)
            return Outcome.sent()
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            replies = "; ".join(f"{code} {_reply(text)}" for code, text in exc.recipients.values())
            if codes and all(code >= 500 for code in codes):
                return Outcome.bounced(f"SMTP recipient refused: {replies}")
            return Outcome.retry(f"SMTP recipient deferred: {replies}")
        except smtplib.SMTPResponseException as exc:
            reply = f"SMTP {exc.smtp_code} {_reply(exc.smtp_error)}"
            if exc.smtp_code == 421 or isinstance(exc, smtplib.SMTPAuthenticationError):
                self.close()
                return Outcome.retry(reply)
            return Outcome.failed(reply) if exc.smtp_code >= 500 else Outcome.retry(reply)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            return Outcome.retry(f"SMTP: {_reply(str(exc))}")
