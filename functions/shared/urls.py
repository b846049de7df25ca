"""Which health URLs the health probe can check: one rule, read twice.

The environment configuration refuses a deploy target's `health_check_url`
with it (environments/validation.py), and the health probe refuses its TARGETS
setting with it at cold start (health_probe/targets.py). Before they shared
it, the configuration accepted URLs the probe refused; the probe then
published nothing, and every bake rolled back.

A URL the probe can check is `https://HOST[:PORT][/PATH[?QUERY]]`:

- https only: the probe checks what a Route 53 HTTPS health check would.
- No user name or password (`user:pw@host`): urllib would read them as part
  of the host, and a credential in a URL lands in Terraform state and logs.
- HOST is a DNS name of letters, digits and inner hyphens (RFC 1123): no
  underscore (no public CA may issue a certificate for one, so the TLS check
  fails), no non-ASCII letters (write the `xn--` form IDNA gives), at least
  two labels, no trailing dot. An IPv4 address is such a name too.
- No IPv6 literal (`[2001:db8::1]`): the probe runs outside a VPC, and the
  Lambda documentation describes outbound IPv6 only for "VPC functions that
  are connected to dual-stack subnets" (VpcConfig, Ipv6AllowedForDualStack,
  https://docs.aws.amazon.com/lambda/latest/dg/API_VpcConfig.html); outside
  a VPC it is assumed unavailable.
- A query needs a path before it (`https://host/?x`, not `https://host?x`):
  urllib sends `GET ?x`, which is not an HTTP request target.
- PATH and QUERY hold RFC 3986 characters only (letters, digits and
  `-._~!$&'()*+,;=:@/?`, and `%` with two hex digits): no spaces, quotes,
  braces or `#` (a fragment is never sent). So no `${` can reach Terraform.

Standard library only: the Lambda zips carry this module (functions/shared/).
"""

from __future__ import annotations

import re

_SCHEME = "https://"
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)
_PORT = re.compile(r"[0-9]{1,5}", re.ASCII)
_PATH = re.compile(r"/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*", re.ASCII)
# RFC 1035: a name is at most 253 characters written without its final dot.
MAX_HOST_LENGTH = 253


def https_url_problem(url: object) -> str | None:
    """Why the health probe cannot check `url`, or None when it can.

    The reason reads after the URL: "'http://x' is not ...: it must ...".
    """
    if not isinstance(url, str):
        return f"must be a string, got {type(url).__name__}"
    if not url.startswith(_SCHEME):
        return "must start with https://"
    rest = url[len(_SCHEME) :]
    authority, slash, path = rest.partition("/")
    if "#" in authority:
        return "must not carry a #fragment (it is never sent to the server)"
    if "?" in authority:
        return "needs a path before its query, such as https://host/?x=1 (not https://host?x=1)"
    if "@" in authority:
        return "must not carry a user name or password (user:password@): it would land in state and logs"
    if authority.startswith("["):
        return "must name its host by DNS name: the probe runs outside a VPC, where IPv6 is assumed unavailable"
    host, colon, port = authority.partition(":")
    why = _host_problem(host)
    if why:
        return why
    if colon and not (_PORT.fullmatch(port) and 1 <= int(port) <= 65535):
        return f"has port {port!r}; a port is a number from 1 to 65535"
    if slash and not _PATH.fullmatch("/" + path):
        return (
            "may hold only letters, digits, -._~!$&'()*+,;=:@/? and %XX escapes after its host "
            "(no spaces, quotes, braces or #fragment)"
        )
    return None


def _host_problem(host: str) -> str | None:
    if not host:
        return "has no host"
    if not host.isascii():
        return f"has the non-ASCII host {host!r}; write its IDNA form (xn--...)"
    if "_" in host:
        return f"has the host {host!r}: an underscore is not allowed in a host name (nor in its TLS certificate)"
    labels = host.split(".")
    if len(host) > MAX_HOST_LENGTH or len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return (
            f"has the host {host!r}, which is not a DNS name such as app.example.com (labels of letters, "
            "digits and inner hyphens, at least two, no trailing dot)"
        )
    return None


def is_https_url(url: object) -> bool:
    return https_url_problem(url) is None
