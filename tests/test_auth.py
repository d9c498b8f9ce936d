"""Credential types, origins, redaction, the registry and the resolution chain."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from kit.auth import (
    BasicAuth,
    BearerToken,
    CredentialRegistry,
    DandiToken,
    Headers,
    Origin,
    S3Credentials,
    origin_of,
    redact,
    resolve,
)
from kit.errors import KitError

pytestmark = pytest.mark.usefixtures("no_machine_credentials")

SECRET = "s3cr3t-Zq9"  # every secret below contains this marker, to grep for it


def all_credentials() -> list:
    return [
        BasicAuth("alice", SECRET),
        BearerToken(SECRET),
        Headers({"X-Api-Key": SECRET, "Cookie": f"session={SECRET}"}),
        S3Credentials(key=f"AKIA{SECRET}", secret=SECRET, token=SECRET,
                      endpoint_url="http://127.0.0.1:9000", region="eu-west-1"),
        DandiToken(SECRET),
        DandiToken(SECRET, instance="https://dandi.example.org/api"),
    ]


# --- origins and redaction


def test_origin_default_ports() -> None:
    assert origin_of("https://Example.ORG/a/b?x=1") == Origin("https", "example.org", 443)
    assert origin_of("http://example.org") == Origin("http", "example.org", 80)
    assert origin_of("http://example.org:80/") == origin_of("http://example.org/")
    assert origin_of("http://example.org:8080/") != origin_of("http://example.org/")
    assert origin_of("https://example.org/") != origin_of("http://example.org/")
    assert origin_of("http://user:pw@example.org/") == Origin("http", "example.org")
    assert origin_of("s3://bucket/key").port is None
    assert str(origin_of("http://127.0.0.1:8123/x")) == "http://127.0.0.1:8123"
    assert str(origin_of("http://[::1]:8123/x")) == "http://[::1]:8123"
    assert origin_of(Origin("http", "h")) == Origin("http", "h", 80)


@pytest.mark.parametrize("bad", ["not a url", "/local/path", "http://", "http://host:port/"])
def test_origin_of_malformed(bad: str) -> None:
    with pytest.raises(KitError):
        origin_of(bad)


def test_origin_is_frozen() -> None:
    with pytest.raises(AttributeError):
        origin_of("http://h/").host = "other"  # type: ignore[misc]


def test_redact_a_url() -> None:
    url = (f"https://bob:{SECRET}@bucket.s3.amazonaws.com/a.zarr/0/0?X-Amz-Algorithm=AWS4"
           f"&X-Amz-Credential=AKIA{SECRET}&X-Amz-Signature={SECRET}&x-amz-security-token={SECRET}"
           "&part=3")
    red = redact(url)
    assert SECRET not in red and "bob" not in red
    assert red.startswith("https://bucket.s3.amazonaws.com/a.zarr/0/0?X-Amz-Algorithm=AWS4&")
    assert "X-Amz-Signature=***" in red and "x-amz-security-token=***" in red
    assert red.endswith("&part=3")
    for name in ("Signature", "token", "access_token", "key"):
        assert redact(f"http://h/p?{name}={SECRET}&a=1") == f"http://h/p?{name}=***&a=1"
    assert redact("http://h:81/plain/path") == "http://h:81/plain/path"


# --- credential types


def test_reprs_never_show_secrets() -> None:
    texts = [f(c) for c in all_credentials() for f in (repr, str)]
    assert not [t for t in texts if SECRET in t]
    assert repr(BasicAuth("alice", SECRET)) == "BasicAuth(username='alice', password=<hidden>)"
    assert str(BearerToken(SECRET)) == "BearerToken(token=<hidden>)"
    assert repr(Headers({"X-Api-Key": SECRET})) == "Headers({'X-Api-Key': <hidden>})"
    s3 = repr(all_credentials()[3])
    assert "endpoint_url='http://127.0.0.1:9000'" in s3 and "region='eu-west-1'" in s3
    assert repr(DandiToken(SECRET, instance="sandbox")) == (
        "DandiToken(token=<hidden>, instance='sandbox')")


def test_credentials_pickle_with_their_secret() -> None:
    for cred in all_credentials():
        blob = pickle.dumps(cred)
        back = pickle.loads(blob)
        assert back == cred and hash(back) == hash(cred) and type(back) is type(cred)
        assert SECRET.encode() in blob  # dask workers need it
    assert pickle.loads(pickle.dumps(BasicAuth("a", SECRET))).password == SECRET


def test_http_headers() -> None:
    assert BasicAuth("alice", "pw").http_headers() == {"Authorization": "Basic YWxpY2U6cHc="}
    assert BearerToken("t").http_headers() == {"Authorization": "Bearer t"}
    assert Headers({"X-Api-Key": "k"}).http_headers() == {"X-Api-Key": "k"}
    assert DandiToken("k").http_headers() == {"Authorization": "token k"}
    assert DandiToken().http_headers() == {}
    with pytest.raises(TypeError):
        S3Credentials(anon=True).http_headers()


def test_bad_values_raise_without_echoing_secrets() -> None:
    for make in (lambda: BasicAuth("a:b", SECRET), lambda: BasicAuth("a", SECRET + "\n"),
                 lambda: BearerToken(SECRET + "\r\nX-Evil: 1"),
                 lambda: Headers({"X": SECRET + "\n"}),
                 lambda: BearerToken("")):
        with pytest.raises(ValueError) as info:
            make()
        assert SECRET not in str(info.value)


def test_credentials_are_frozen() -> None:
    cred = BasicAuth("alice", SECRET)
    with pytest.raises(AttributeError) as info:
        cred.password = "x"  # type: ignore[misc]
    assert SECRET not in str(info.value)


def test_s3_storage_options() -> None:
    assert S3Credentials(anon=True).storage_options() == {"anon": True}
    assert S3Credentials(key="k", secret="s", anon=True).storage_options() == {"anon": True}
    assert S3Credentials("k", "s", "t", endpoint_url="http://e", region="r").storage_options() == {
        "key": "k", "secret": "s", "token": "t", "endpoint_url": "http://e",
        "client_kwargs": {"region_name": "r"}}
    assert S3Credentials().storage_options() == {}


def test_dandi_token_env_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    assert DandiToken().token is None
    monkeypatch.setenv("DANDI_API_KEY", "main-key")
    monkeypatch.setenv("DANDI_STAGING_API_KEY", "legacy-key")
    assert DandiToken().token == "main-key"
    assert DandiToken("explicit").token == "explicit"
    assert DandiToken(instance="sandbox").token == "legacy-key"
    monkeypatch.setenv("DANDI_SANDBOX_API_KEY", "sandbox-key")
    assert DandiToken(instance="sandbox").token == "sandbox-key"
    # a custom archive never receives another archive's key
    assert DandiToken(instance="https://dandi.example.org/api/").token is None


def test_dandi_instances() -> None:
    assert DandiToken().api_url == "https://api.dandiarchive.org/api"
    assert DandiToken(instance="SANDBOX").api_url == "https://api.sandbox.dandiarchive.org/api"
    custom = DandiToken("k", instance="http://127.0.0.1:8000/api/")
    assert custom.api_url == "http://127.0.0.1:8000/api"
    assert custom.origin == Origin("http", "127.0.0.1", 8000)
    # the known URL is recognised as the known instance
    assert DandiToken(instance="https://api.dandiarchive.org/api").instance == "dandi"
    for bad in ("nowhere", "https://dandi.example.org/"):
        with pytest.raises(ValueError):
            DandiToken(instance=bad)


# --- registry


def test_registry_exact_origin() -> None:
    reg = CredentialRegistry()
    cred = BasicAuth("alice", SECRET)
    assert reg.register("http://127.0.0.1:8123/some/data.zarr", cred) == Origin(
        "http", "127.0.0.1", 8123)
    assert reg.lookup("http://127.0.0.1:8123/other/path?x=1") is cred
    assert reg.lookup("http://127.0.0.1:8124/some/data.zarr") is None  # other port
    assert reg.lookup("https://127.0.0.1:8123/") is None  # other scheme
    assert reg.lookup("http://localhost:8123/") is None  # other host name
    assert reg.lookup("not a url") is None
    assert "http://127.0.0.1:8123/x" in reg and "http://127.0.0.1:1/" not in reg
    reg.register(Origin("https", "example.org"), BearerToken(SECRET))
    assert isinstance(reg.lookup("https://example.org:443/a"), BearerToken)
    assert len(reg) == 2 and set(reg.origins()) == {Origin("http", "127.0.0.1", 8123),
                                                    Origin("https", "example.org", 443)}
    text = repr(reg) + str(reg)
    assert SECRET not in text and "alice" not in text
    assert "http://127.0.0.1:8123: BasicAuth" in text
    assert "https://example.org:443: BearerToken" in text
    reg.remove("http://127.0.0.1:8123/whatever")
    reg.remove("http://never-registered/")
    assert len(reg) == 1 and reg.lookup("http://127.0.0.1:8123/") is None
    reg.clear()
    assert len(reg) == 0


def test_registry_rejects_non_credentials() -> None:
    with pytest.raises(TypeError):
        CredentialRegistry().register("http://h/", ("user", "pw"))  # type: ignore[arg-type]
    with pytest.raises(KitError):
        CredentialRegistry().register("no url", BearerToken("t"))


def test_module_registry_singleton() -> None:
    import kit.auth
    from kit.auth.registry import credentials

    assert kit.auth.credentials is credentials and isinstance(credentials, CredentialRegistry)


# --- resolution chain


def write_netrc(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_resolution_chain_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    url = "http://127.0.0.1:8123/data.zarr"
    reg = CredentialRegistry()
    netrc = write_netrc(tmp_path / "netrc", "machine 127.0.0.1 login nora password netrc-pw\n")
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.setenv("NGFF_KIT_TOKEN", "env-token")
    monkeypatch.setenv("NGFF_KIT_ORIGINS", "http://127.0.0.1:8123")  # env credentials are bound
    registered, explicit = BasicAuth("reg", "reg-pw"), BearerToken("explicit")
    reg.register(url, registered)

    assert resolve(url, explicit=explicit, registry=reg) is explicit
    assert resolve(url, registry=reg) is registered
    reg.clear()
    assert resolve(url, registry=reg) == BearerToken("env-token")
    monkeypatch.delenv("NGFF_KIT_TOKEN")
    assert resolve(url, registry=reg) == BasicAuth("nora", "netrc-pw")
    netrc.write_text("machine example.org login x password y\n")
    assert resolve(url, registry=reg) is None


def test_env_basic_auth(monkeypatch: pytest.MonkeyPatch) -> None:
    reg = CredentialRegistry()
    monkeypatch.setenv("NGFF_KIT_ORIGINS", "https://h")
    monkeypatch.setenv("NGFF_KIT_USERNAME", "ursula")
    assert resolve("https://h/", registry=reg) is None  # no password: nothing
    monkeypatch.setenv("NGFF_KIT_PASSWORD", "env-pw")
    assert resolve("https://h/", registry=reg) == BasicAuth("ursula", "env-pw")
    monkeypatch.setenv("NGFF_KIT_TOKEN", "tok")  # the token wins over username/password
    assert resolve("https://h/", registry=reg) == BearerToken("tok")
    # env credentials are for HTTP(S) only
    assert resolve("s3://bucket/x", registry=reg) is None


def test_netrc_only_exact_machine(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    netrc = write_netrc(tmp_path / "netrc", (
        "machine data.example.org login dora password dora-pw\n"
        "default login anyone password default-pw\n"))
    monkeypatch.setenv("NETRC", str(netrc))
    reg = CredentialRegistry()
    assert resolve("https://data.example.org:8443/x", registry=reg) == BasicAuth(
        "dora", "dora-pw")
    assert resolve("https://other.example.org/x", registry=reg) is None
    netrc.write_text("this is not ( a netrc")
    assert resolve("https://data.example.org/x", registry=reg) is None


def test_netrc_from_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NETRC")
    monkeypatch.setenv("HOME", str(tmp_path))
    write_netrc(tmp_path / ".netrc", "machine h.example login hal password hal-pw\n")
    assert resolve("http://h.example/", registry=CredentialRegistry()) == (
        BasicAuth("hal", "hal-pw"))


def test_resolve_rejects_non_credentials() -> None:
    with pytest.raises(TypeError):
        resolve("http://h/", explicit=("u", "p"), registry=CredentialRegistry())  # type: ignore[arg-type]


def test_resolve_uses_module_registry_by_default() -> None:
    from kit.auth import credentials

    cred = BearerToken(SECRET)
    credentials.register("http://127.0.0.1:1/", cred)
    try:
        assert resolve("http://127.0.0.1:1/x") is cred
        assert resolve("http://127.0.0.1:2/x") is None
    finally:
        credentials.remove("http://127.0.0.1:1/")
