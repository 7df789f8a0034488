"""Who a connection is, as Kafka names principals.

A PLAINTEXT connection, and an SSL one without a client certificate, is ``User:ANONYMOUS``.
An SSL client certificate's subject, written as Java writes a distinguished name
(RFC 2253: most specific part first, ``CN=alice,OU=eng,O=example,C=US``), is mapped by
``ssl.principal.mapping.rules`` (``RULE:pattern/replacement/[LU]`` and ``DEFAULT``, first
that matches wins) to the user name. A SASL connection is the user it authenticated as.
"""

from __future__ import annotations

import re

# Python's names for the attribute types RFC 2253 has keywords for; others keep Python's name.
DN_KEYWORDS = {"commonName": "CN", "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST",
               "organizationName": "O", "organizationalUnitName": "OU", "streetAddress": "STREET",
               "domainComponent": "DC", "userId": "UID"}

_RULE = r"(DEFAULT)|RULE:((?:\\.|[^\\/])*)/((?:\\.|[^\\/])*)/([LU]?).*?|(.*?)"
_RULE_SPLITTER = re.compile(r"\s*(" + _RULE + r")\s*(?:,\s*|$)")
_BACK_REFERENCE = re.compile(r"\$(\d+)")


def distinguished_name(subject) -> str:
    """A certificate subject as ``ssl.SSLSocket.getpeercert()`` gives it, in RFC 2253 form."""
    rdns = []
    for rdn in reversed(subject or ()):
        rdns.append("+".join(f"{DN_KEYWORDS.get(name, name)}={_escape(value)}" for name, value in rdn))
    return ",".join(rdns)


def _escape(value: str) -> str:
    out = re.sub(r'([,+"\\<>;=])', r"\\\1", value)
    if out.startswith(("#", " ")):
        out = "\\" + out
    if out.endswith(" ") and not out.endswith("\\ "):
        out = out[:-1] + "\\ "
    return out


class PrincipalMapper:
    """``ssl.principal.mapping.rules``: a distinguished name to a user name."""

    def __init__(self, rules: str | None):
        self.rules = _parse_rules(rules or "DEFAULT")

    def name(self, dn: str) -> str:
        for rule in self.rules:
            name = rule(dn)
            if name is not None:
                return name
        raise ValueError(f"no ssl.principal.mapping.rules apply to {dn}")


def _parse_rules(text: str) -> list:
    rules = []
    text = text.strip()
    position = 0
    while position < len(text):
        match = _RULE_SPLITTER.match(text, position)
        if match is None or match.end() == position:
            raise ValueError(f"invalid ssl.principal.mapping.rules at {text[position:]!r}")
        position = match.end()
        if match.group(2):                      # DEFAULT
            rules.append(lambda dn: dn)
        elif match.group(3) is not None:        # RULE:pattern/replacement/[LU]
            rules.append(_rule(match.group(3), match.group(4), match.group(5)))
        elif match.group(6):
            raise ValueError(f"invalid ssl.principal.mapping.rules rule: {match.group(6)!r}")
    return rules


def _rule(pattern_text: str, replacement: str, case: str):
    try:
        pattern = re.compile(pattern_text)
    except re.error as exc:
        raise ValueError(f"ssl.principal.mapping.rules: bad pattern {pattern_text!r}: {exc}") from None
    groups = pattern.groups

    def back_reference(match: re.Match) -> str:   # Java's $n; a group that does not exist stays literal
        number = int(match.group(1))
        while number > groups and number >= 10:
            number //= 10
        return f"\\g<{number}>" if 0 < number <= groups else match.group(0)

    template = _BACK_REFERENCE.sub(back_reference, replacement.replace("\\", "\\\\"))

    def apply(dn: str) -> str | None:
        if pattern.fullmatch(dn) is None:
            return None
        result = pattern.sub(template, dn)
        return result.lower() if case == "L" else result.upper() if case == "U" else result
    return apply
