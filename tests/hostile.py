"""Hostile strings an attacker can put in any AWS field (userAgent, a log line, a tag value)."""

HOSTILE = [
    "\x1b]52;c;aGFtYXJpIHB3bmVk\x07",  # OSC 52 clipboard write
    "\x1b]52;c;?\x07",  # OSC 52 clipboard read
    "\x1b]0;you have been pwned\x07",  # title set
    "\x1b[21t",  # title report
    "\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\",  # OSC 8 link
    "\x1b[2J\x1b[H",  # clear screen, cursor home
    "\x1b[10;10H",  # cursor move
    "\x9b2J",  # 8-bit CSI
    "\x9d0;title\x9c",  # 8-bit OSC
    "\x1bP+q544e\x1b\\",  # DCS
    "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\",  # tmux passthrough
    "admin\u202egnp.exe",  # bidi override
    "a\u200bb\u2066c\u2069",  # zero-width and isolates
    "nul\x00byte",
    "lone\udc80surrogate",
    "[/]",
    "[/",
    "[ERROR]",
    "[$accent]",
    "[@click=app.quit]quit[/]",
    "[link=https://evil.example]cli[/link]",
    "[bold red]alert",
    "\r\noverwritten",
]
