"""The one credential policy (kit.auth.resolve / Scope), env credentials bound to
NGFF_KIT_ORIGINS, lazy DANDI keys, the one redaction function, and kit.open's typed errors."""

from __future__ import annotations

import ast
import pickle
from pathlib import Path

import pytest

import kit
from kit.auth import (
    BasicAuth,
    BearerToken,
    CredentialRegistry,
    DandiToken,
    Headers,
    S3Credentials,
    Scope,
    origin_of,
    redact,
    resolve,
)
from kit.auth import env as auth_env
from kit.demo.generate import write_image
from kit.demo.server import DemoServer
from kit.errors import KitError, RemoteError

pytestmark = pytest.mark.usefixtures("no_machine_credentials")

SECRET = "s3cr3t-Zq9"


# --- redact -----------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["pa/ss", "pa#ss", "pa?ss", "pa@ss", "a/b?c#d@e", "x@y/z#w?v"])
def test_userinfo_up_to_the_last_at_is_never_echoed(raw: str) -> None:
    url = f"https://bob:{raw}{SECRET}@data.example.org:8443/a.zarr?part=1"
    red = redact(url)
    assert SECRET not in red and "bob" not in red and raw not in red
    assert red.endswith("data.example.org:8443/a.zarr?part=1"), red
    # a username-only token with a '/' in it, as base64 tokens have
    assert SECRET not in redact(f"https://{SECRET}/x==@host/p")


def test_plain_userinfo_is_dropped_as_before() -> None:
    assert redact(f"https://bob:{SECRET}@h.org/x") == "https://h.org/x"
    assert redact("http://h:81/plain/path") == "http://h:81/plain/path"
    assert redact("http://[::1]:8080/x?a=1") == "http://[::1]:8080/x?a=1"
    assert not hasattr(kit.auth, "redact_url")  # one name for the one function


@pytest.mark.parametrize("bad", [f"https://bob:{SECRET}", f"http://[::1{SECRET}/x",
                                 f"https://h:{SECRET}/x", f"https://u:p{SECRET}:1/x"])
def test_unparsable_url_becomes_a_placeholder(bad: str) -> None:
    assert redact(bad) == "<unparsable URL>"
    assert redact(f"failed at {bad}: timeout") == "failed at <unparsable URL>: timeout"


@pytest.mark.parametrize("name", [
    "api-key", "x-api-key", "X-API-KEY", "auth", "jwt", "session_token", "access-token",
    "X-Amz-Signature", "X-Amz-Security-Token", "x-amz-credential", "Signature", "sig", "token",
    "key", "apikey", "password", "passwd", "pwd", "secret", "client_secret", "credential",
    "authorization", "Policy", "Key-Pair-Id", "X%2DApi%2DKey", "id_token", "AccessToken"])
def test_sensitive_query_names(name: str) -> None:
    red = redact(f"https://h/p?{name}={SECRET}&part=3&name=ok")
    assert red == f"https://h/p?{name}=***&part=3&name=ok"
    assert redact(f"https://h/p#{name}={SECRET}") == f"https://h/p#{name}=***"


def test_redact_text_with_several_urls_and_punctuation() -> None:
    text = (f"GET (https://u:{SECRET}@a.org/x?token={SECRET}) failed, then "
            f"'http://b.org/y?sig={SECRET}'. See https://c.org/z.")
    red = redact(text)
    assert SECRET not in red
    assert "(https://a.org/x?token=***) failed" in red
    assert "'http://b.org/y?sig=***'." in red and red.endswith("See https://c.org/z.")
    assert redact("no URL here: just words") == "no URL here: just words"
    chained = f"zip://a.zarr::s3://bucket/a.zip?X-Amz-Signature={SECRET}"
    assert redact(chained) == "zip://a.zarr::s3://bucket/a.zip?X-Amz-Signature=***"


def test_origin_of_never_quotes_a_mangled_password() -> None:
    with pytest.raises(KitError) as info:
        origin_of(f"https://bob:pa/{SECRET}@h.org/x")
    assert SECRET not in str(info.value) and "pa/" not in str(info.value)
    assert "percent-encode" in str(info.value)
    with pytest.raises(KitError) as info:
        origin_of(f"https://h.org:{SECRET}/x")
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("scheme", ["http", "https", "ftp", "s3"])
@pytest.mark.parametrize("raw", ["pa/ss", "pa#ss", "pa?ss"])
def test_kit_open_errors_never_echo_an_unescaped_password(scheme: str, raw: str) -> None:
    with pytest.raises(KitError) as info:
        kit.open(f"{scheme}://bob:{raw}{SECRET}@127.0.0.1:9/x.zarr")
    text = str(info.value) + repr(info.value)
    assert SECRET not in text and raw not in text, text


KIT = Path(kit.__file__).parent
REDACTION = KIT / "auth" / "redact.py"
RESOLUTION = KIT / "auth" / "resolve.py"


def _assigned_from(tree: ast.Module, value: ast.expr) -> str:
    """The source of what a name was assigned from (``parts = urlsplit(url)``), if anything."""
    if not isinstance(value, ast.Name):
        return ast.unparse(value)
    return " ".join(ast.unparse(n.value) for n in ast.walk(tree) if isinstance(n, ast.Assign)
                    and any(isinstance(t, ast.Name) and t.id == value.id for t in n.targets))


def _scan(tree: ast.Module) -> tuple[list[int], list[int]]:
    """Lines of (a regex over URLs, a parsed URL's userinfo read) in one module."""
    patterns, userinfo = [], []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                and node.args and isinstance(node.args[0], ast.Constant)
                and "://" in str(node.args[0].value)):
            patterns.append(node.lineno)
        if (isinstance(node, ast.Attribute) and node.attr in ("username", "password")
                and "urlsplit" in _assigned_from(tree, node.value)):
            userinfo.append(node.lineno)
    return patterns, userinfo


def test_one_redaction_and_one_userinfo_reader_in_kit() -> None:
    """Issue 17: no module but kit/auth/redact.py holds a URL pattern (a redaction copy), and
    none but kit/auth/resolve.py reads userinfo from a parsed URL as a credential."""
    url_patterns, userinfo_reads = [], []
    for path in sorted(KIT.rglob("*.py")):
        patterns, userinfo = _scan(ast.parse(path.read_text(), str(path)))
        name = str(path.relative_to(KIT))
        url_patterns += [f"{name}:{n}" for n in patterns if path != REDACTION]
        userinfo_reads += [f"{name}:{n}" for n in userinfo if path != RESOLUTION]
    assert url_patterns == [], url_patterns
    assert userinfo_reads == [], userinfo_reads
    for legacy in ("redact_url", "resolve_http_credential"):
        assert not hasattr(kit.auth, legacy), legacy


def test_the_copy_check_finds_the_copies_it_forbids() -> None:
    copy = ('import re\n_URL_IN_TEXT = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\\s]+")\n'
            "parts = urlsplit(url)\nuser = parts.username\nother = urlsplit(u).password\n")
    assert _scan(ast.parse(copy)) == ([2], [4, 5])
    assert _scan(ast.parse(REDACTION.read_text()))[0]  # the one implementation is seen
    assert _scan(ast.parse(RESOLUTION.read_text()))[1]  # the one userinfo reader is seen

# --- the env credential is bound to NGFF_KIT_ORIGINS -----------------------------------------


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("policy")
    write_image(root / "image.zarr", axes="yx", shape=(16, 16), levels=1)
    return root


def test_env_token_is_not_sent_unasked(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NGFF_KIT_TOKEN", SECRET)
    with DemoServer(root) as srv:  # plain http, asks for nothing
        assert isinstance(kit.open(srv.url + "image.zarr"), kit.Image)
        assert srv.count() > 0 and srv.count(lambda r: r.authorization) == 0
        # bound to another origin: still nothing here
        monkeypatch.setenv("NGFF_KIT_ORIGINS", "https://elsewhere.example.org, http://127.0.0.1:1")
        kit.open(srv.url + "image.zarr")
        assert srv.count(lambda r: r.authorization) == 0


def test_env_token_goes_to_the_named_origin(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with DemoServer(root, auth="bearer", token=SECRET) as srv, DemoServer(root) as other:
        monkeypatch.setenv("NGFF_KIT_TOKEN", SECRET)
        with pytest.raises(kit.AuthenticationError):
            kit.open(srv.url + "image.zarr")  # not named yet: not sent
        assert srv.count(lambda r: r.authorization) == 0
        monkeypatch.setenv("NGFF_KIT_ORIGINS", srv.url)
        assert isinstance(kit.open(srv.url + "image.zarr"), kit.Image)
        kit.open(other.url + "image.zarr")
        assert other.count(lambda r: r.authorization) == 0


def test_env_basic_and_prefixes(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = CredentialRegistry()
    monkeypatch.setenv("NGFF_KIT_USERNAME", "ursula")
    monkeypatch.setenv("NGFF_KIT_PASSWORD", SECRET)
    monkeypatch.setenv("NGFF_KIT_ORIGINS", "data.example.org/lab, http://127.0.0.1:8000")
    basic = BasicAuth("ursula", SECRET)
    assert resolve("https://data.example.org/lab/a.zarr", registry=reg) == basic
    assert resolve("https://data.example.org/lab", registry=reg) == basic
    assert resolve("https://data.example.org:443/lab/x", registry=reg) == basic
    assert resolve("https://data.example.org/laboratory/x", registry=reg) is None  # not a prefix
    assert resolve("https://data.example.org/other", registry=reg) is None
    assert resolve("http://data.example.org/lab/x", registry=reg) is None  # no scheme = https
    assert resolve("http://127.0.0.1:8000/anything", registry=reg) == basic
    assert resolve("http://127.0.0.1:8001/anything", registry=reg) is None
    assert resolve("https://sub.data.example.org/lab/x", registry=reg) is None


@pytest.mark.parametrize("entry", ["ftp://h.org", "https://", "https://h.org?x=1",
                                   f"https://u:{SECRET}@h.org", "https://h.org:port"])
def test_bad_origins_entry_is_a_clear_error(entry: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NGFF_KIT_TOKEN", "tok")
    monkeypatch.setenv("NGFF_KIT_ORIGINS", f"https://ok.org,{entry}")
    with pytest.raises(KitError, match="NGFF_KIT_ORIGINS") as info:
        resolve("https://ok.org/x", registry=CredentialRegistry())
    assert SECRET not in str(info.value)


def test_env_names_live_in_one_module() -> None:
    assert auth_env.ENV_TOKEN == "NGFF_KIT_TOKEN" and auth_env.ENV_ORIGINS == "NGFF_KIT_ORIGINS"
    assert set(auth_env.CREDENTIAL_VARIABLES) >= {"NGFF_KIT_TOKEN", "NGFF_KIT_USERNAME",
                                                  "NGFF_KIT_PASSWORD", "NGFF_KIT_ORIGINS",
                                                  "DANDI_API_KEY", "DANDI_SANDBOX_API_KEY"}
    for path in Path(kit.__file__).parent.joinpath("auth").glob("*.py"):
        if path.name != "env.py":
            assert "os.environ" not in path.read_text(), path.name


# --- scopes -----------------------------------------------------------------------------------


def test_root_chain_userinfo_and_explicit() -> None:
    reg = CredentialRegistry()
    reg.register("https://h.org", BearerToken("registered"))
    assert resolve("https://u:p%2Fw@h.org/x", registry=reg) == BasicAuth("u", "p/w")
    assert resolve("https://h.org/x", registry=reg) == BearerToken("registered")
    explicit = Headers({"X-Api-Key": SECRET})
    assert resolve("https://u:p@h.org/x", explicit=explicit, registry=reg) is explicit
    assert resolve("s3://bucket/x", registry=reg) is None
    with pytest.raises(TypeError):
        resolve("https://h.org/", explicit=("u", "p"), registry=reg)  # type: ignore[arg-type]


def test_refs_targets_get_no_machine_credential(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    reg = CredentialRegistry()
    netrc = tmp_path / "netrc"
    netrc.write_text("machine other.org login n password netrc-pw\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("NGFF_KIT_TOKEN", "env-token")
    monkeypatch.setenv("NGFF_KIT_ORIGINS", "https://other.org")
    doc = BearerToken("doc")

    def target(url: str):
        return resolve(url, scope=Scope.REFS_TARGET, explicit=doc,
                       document="https://doc.org/r.json", registry=reg)

    assert target("https://doc.org/data.bin") is doc
    assert target("https://other.org/data.bin") is None  # no env, no netrc
    assert resolve("https://other.org/data.bin", scope=Scope.ROOT, registry=reg) == BearerToken(
        "env-token")
    reg.register("https://other.org", BasicAuth("o", "pw"))
    assert target("https://other.org/data.bin") == BasicAuth("o", "pw")
    reg.register("https://other.org", DandiToken("k", instance="https://other.org/api"))
    assert target("https://other.org/data.bin") is None  # a DANDI key stays there


def test_dandi_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = CredentialRegistry()
    api = "https://api.dandiarchive.org/api/assets/1/download/"
    assert resolve(api, scope=Scope.DANDI_API, registry=reg) is None
    monkeypatch.setenv("DANDI_API_KEY", SECRET)
    found = resolve(api, scope=Scope.DANDI_API, registry=reg)
    assert isinstance(found, DandiToken) and found.token == SECRET
    given = DandiToken("given")
    assert resolve(api, scope=Scope.DANDI_API, explicit=given, registry=reg) is given
    custom = "https://dandi.example.org/api/assets/1/download/"
    assert resolve(custom, scope=Scope.DANDI_API, registry=reg) is None  # never the env key
    mine = DandiToken("mine", instance="https://dandi.example.org/api")
    reg.register("https://dandi.example.org", mine)
    assert resolve(custom, scope=Scope.DANDI_API, registry=reg) is mine
    with pytest.raises(TypeError):
        resolve(api, scope=Scope.DANDI_API, explicit=BearerToken("x"), registry=reg)


def test_s3_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in auth_env.AWS_VARIABLES:
        monkeypatch.delenv(var, raising=False)
    assert resolve("s3://b/x", scope=Scope.S3) == S3Credentials(anon=True)
    monkeypatch.setenv("AWS_PROFILE", "lab")
    assert resolve("s3://b/x", scope=Scope.S3) is None  # botocore's chain decides
    given = S3Credentials(key="k", secret=SECRET)
    assert resolve("s3://b/x", scope=Scope.S3, explicit=given) is given
    with pytest.raises(KitError, match="S3Credentials"):
        resolve("s3://b/x", scope=Scope.S3, explicit=BearerToken("t"))


def test_dandi_token_reads_the_environment_when_used(monkeypatch: pytest.MonkeyPatch) -> None:
    token = DandiToken()  # made before the variable exists
    sandbox = DandiToken(instance="sandbox")
    assert token.token is None and token.http_headers() == {}
    monkeypatch.setenv("DANDI_API_KEY", SECRET)
    monkeypatch.setenv("DANDI_STAGING_API_KEY", "legacy")
    assert token.token == SECRET and token.http_headers() == {"Authorization": f"token {SECRET}"}
    assert sandbox.token == "legacy"
    assert SECRET not in repr(token) and "<hidden>" in repr(token)
    blob = pickle.dumps(token)
    assert SECRET.encode() not in blob  # an env key is not frozen into the pickle
    monkeypatch.setenv("DANDI_API_KEY", "rotated")
    assert pickle.loads(blob).token == "rotated"
    assert DandiToken("explicit") != DandiToken() and DandiToken() == DandiToken("")


# --- kit.open: typed errors, no silently dropped options --------------------------------------


def test_unknown_and_unreachable_schemes_are_typed_errors() -> None:
    with pytest.raises(RemoteError, match=r"ftp://127\.0\.0\.1:9/x"):
        kit.open("ftp://127.0.0.1:9/x")
    with pytest.raises(KitError, match="unknown URL scheme 'gopher'") as info:
        kit.open("gopher://h.org/x")
    assert "gopher://h.org/x" in str(info.value)


def test_http_storage_options_are_not_silently_dropped(root: Path) -> None:
    with DemoServer(root) as srv:
        with pytest.raises(KitError, match="'headers'") as info:
            kit.open(srv.url + "image.zarr", storage_options={"headers": {"X-Api-Key": SECRET}})
        assert "kit.Headers" in str(info.value) and SECRET not in str(info.value)
        assert srv.count() == 0
        assert isinstance(kit.open(srv.url + "image.zarr", storage_options={}), kit.Image)


@pytest.mark.parametrize("raw", ["pa/ss", "pa#ss", "pa?ss"])
def test_cli_error_line_never_echoes_an_unescaped_password(raw: str, capsys) -> None:
    from kit.cli import main

    code = main(["info", f"http://bob:{raw}{SECRET}@127.0.0.1:9/x.zarr?api-key={SECRET}"])
    out = capsys.readouterr()
    assert code != 0 and "ngff-kit: error:" in out.err
    assert SECRET not in out.out + out.err and raw not in out.err
