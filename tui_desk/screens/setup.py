"""First start: connect a support mailbox (or try the demo instead).

The form asks only what a mail program asks: servers, security, login, and who you are. "Test
connection" logs in to both servers in a worker and says per server what worked, in plain
words; nothing is stored until Save. The password goes to the system keyring; where there is
none, the error says so and the form offers a password command instead.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static

from tui_desk.config import DEFAULT_PORTS, SECURITY_MODES, ConfigError
from tui_desk.credentials import CredentialError
from tui_desk.screens.messages import ConnectionTested
from tui_desk.screens.notices import tell
from tui_desk.screens.safe import safe_line
from tui_desk.tickets.service import DeskService
from tui_desk.tickets.service_types import AccountSettings, CheckResult

SECURITY = [(f"{m}", m) for m in SECURITY_MODES]


class SetupScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "test", "Test connection", id="setup.test"),
        Binding("ctrl+s", "save", "Save", id="setup.save"),
        Binding("ctrl+o", "demo", "Try the demo", id="setup.demo"),
    ]

    class Saved(Message):
        def __init__(self, ok: bool, text: str) -> None:
            super().__init__()
            self.ok = ok
            self.text = text

    def __init__(self) -> None:
        super().__init__(id="setup")

    @property
    def service(self) -> DeskService:
        return self.app.service  # type: ignore[attr-defined, no-any-return]

    def compose(self) -> ComposeResult:
        agent = self.service.config.agent
        with VerticalScroll(id="setup-form"):
            yield Static(Text("Connect your support mailbox", style="bold"), id="setup-title")
            yield Static(Text("Fill in what your mail program uses. Nothing is saved until you press Save; "
                              "the password goes to the system keyring.", style="dim"), id="setup-hint")  # fmt: skip
            yield from self._row("Email address", Input(placeholder="support@example.com", id="email", compact=True))
            yield from self._row("Password", Input(password=True, id="password", compact=True))
            yield from self._row("User name", Input(placeholder="(same as the email address)", id="username",
                                                    compact=True))  # fmt: skip
            yield from self._server("IMAP server", "imap", "tls")
            yield from self._server("SMTP server", "smtp", "starttls")
            yield from self._row("CA file", Input(placeholder="(optional) for a server with its own certificate",
                                                  id="ca-file", compact=True))  # fmt: skip
            yield from self._row("Your name", Input(agent.name, placeholder="shown in your replies", id="agent-name",
                                                    compact=True))  # fmt: skip
            yield from self._row("Your address", Input(agent.email, placeholder="(the email address)",
                                                       id="agent-email", compact=True))  # fmt: skip
            yield from self._row("Password command", Input(placeholder="(optional, instead of the keyring) pass show "
                                                           "support", id="password-command", compact=True))  # fmt: skip
            with Horizontal(id="setup-buttons"):
                yield Button("Test connection", id="test", compact=True)
                yield Button("Save", id="save", variant="primary", compact=True)
                yield Button("Try the demo", id="demo", compact=True)
            yield Static(id="results")
        yield Footer()

    def _row(self, label: str, field: Input) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label(label, classes="field-label")
            yield field

    def _server(self, label: str, kind: str, security: str) -> ComposeResult:
        with Horizontal(classes="field"):
            yield Label(label, classes="field-label")
            yield Input(placeholder=f"{kind}.example.com", id=f"{kind}-host", compact=True)
            yield Input(str(DEFAULT_PORTS[(kind, security)]), id=f"{kind}-port", compact=True, type="integer",
                        classes="port")  # fmt: skip
            yield Select(SECURITY, value=security, allow_blank=False, id=f"{kind}-security", compact=True)

    def on_mount(self) -> None:
        self.query_one("#email", Input).focus()

    # -- reading the form ---------------------------------------------------------------------
    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value.strip()

    def settings(self) -> AccountSettings:
        def port(kind: str) -> int:
            text = self._value(f"{kind}-port")
            security = str(self.query_one(f"#{kind}-security", Select).value)
            return int(text) if text.isdigit() else DEFAULT_PORTS[(kind, security)]

        email = self._value("email")
        return AccountSettings(
            email=email, imap_host=self._value("imap-host"), imap_port=port("imap"),
            imap_security=str(self.query_one("#imap-security", Select).value),
            smtp_host=self._value("smtp-host"), smtp_port=port("smtp"),
            smtp_security=str(self.query_one("#smtp-security", Select).value),
            username=self._value("username") or email, agent_name=self._value("agent-name"),
            agent_email=self._value("agent-email") or email, ca_file=self._value("ca-file"),
            password_command=self._value("password-command"),
        )  # fmt: skip

    def on_select_changed(self, event: Select.Changed) -> None:
        """A new security mode brings its usual port, unless the user typed another one."""
        kind = (event.select.id or "").split("-")[0]
        if kind not in ("imap", "smtp"):
            return
        box = self.query_one(f"#{kind}-port", Input)
        usual = {str(DEFAULT_PORTS[(kind, m)]) for m in SECURITY_MODES}
        if box.value in usual or not box.value:
            box.value = str(DEFAULT_PORTS[(kind, str(event.value))])

    # -- buttons ------------------------------------------------------------------------------
    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"test": self.action_test, "save": self.action_save, "demo": self.action_demo}[event.button.id or "test"]()

    def action_test(self) -> None:
        self._show([], "Testing the connection…")
        self._test(self.settings(), self.query_one("#password", Input).value)

    @work(thread=True, exclusive=True, group="setup-test", exit_on_error=False)
    def _test(self, settings: AccountSettings, password: str) -> None:
        try:
            results = self.service.test_connection(settings, password)
        except Exception as exc:  # a bug must not leave the form hanging
            results = [CheckResult("test", False, f"the test itself failed: {exc}")]
        self.post_message(ConnectionTested(results))

    def on_connection_tested(self, message: ConnectionTested) -> None:
        ok = all(r.ok for r in message.results)
        self._show(message.results, "Everything works: press Save." if ok else "Some of it did not work:")

    def _show(self, results: list[CheckResult], headline: str) -> None:
        text = Text(headline + "\n", style="bold")
        for r in results:
            text.append("✓ " if r.ok else "✗ ", style="bold green" if r.ok else "bold red")
            text.append_text(safe_line(f"{r.what}: {r.message}"))
            text.append("\n")
        self.query_one("#results", Static).update(text)

    def action_save(self) -> None:
        self._save(self.settings(), self.query_one("#password", Input).value)

    @work(thread=True, exclusive=True, group="setup-save", exit_on_error=False)
    def _save(self, settings: AccountSettings, password: str) -> None:
        try:
            text = self.service.save_account(settings, password)
        except CredentialError as exc:
            self.post_message(self.Saved(False, f"{exc}. Or fill in Password command and press Save again."))
            return
        except (ConfigError, OSError) as exc:
            self.post_message(self.Saved(False, str(exc)))
            return
        self.post_message(self.Saved(True, text))

    def on_setup_screen_saved(self, message: Saved) -> None:
        if not message.ok:
            self.query_one("#results", Static).update(safe_line(message.text, "bold red"))
            tell(self, message.text, title="Not saved", severity="error")
            return
        tell(self, message.text)
        done = getattr(self.app, "setup_done", None)
        if done is not None:
            done()

    def action_demo(self) -> None:
        demo = getattr(self.app, "try_demo", None)
        if demo is not None:
            demo()
