"""``ngff-kit``: the kit from a terminal (demo, info, preview, serve, consolidate).

Every command is a small function that returns an exit code; ``main`` turns the kit's typed
errors into one line on stderr and a documented exit code, so scripts and CI can branch on
the code and a user never sees a traceback or a secret:

    0 ok   2 usage   3 not found   4 auth failure (401/403)
    5 invalid metadata / unsupported version   6 remote error   1 anything else
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import json
import os
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_NOT_FOUND, EXIT_AUTH, EXIT_INVALID, EXIT_REMOTE = 0, 1, 2, 3, 4, 5, 6
DEMO_USER = "demo"
DEMO_DATASET = "plate.zarr"
ENV_TOKEN, ENV_USERNAME, ENV_PASSWORD = "NGFF_KIT_TOKEN", "NGFF_KIT_USERNAME", "NGFF_KIT_PASSWORD"
# The demo's password when set (tests and notebooks pin it to check it is never printed or saved).
ENV_DEMO_PASSWORD = "NGFF_KIT_DEMO_PASSWORD"

# Secrets this process was given or made up: scrubbed from any message we print by accident.
_SECRETS: set[str] = set()


class UsageError(Exception):
    """Bad combination of options (exit 2), found after argparse had its say."""


# -- output ---------------------------------------------------------------------------------


def say(text: str = "") -> None:
    """stdout, flushed at once: ``serve`` runs for hours and its first lines must be seen."""
    print(text, flush=True)


def warn(text: str) -> None:
    print(f"ngff-kit: warning: {text}", file=sys.stderr, flush=True)


def scrub(text: str) -> str:
    """Replace every secret this process knows by ``***`` (belt and braces: kit errors hold none)."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    return text


def remember_secret(value: str | None) -> str | None:
    if value:
        _SECRETS.add(value)
    return value


def one_line(exc: BaseException) -> str:
    """An exception as one scrubbed line (multi-line messages are joined)."""
    text = str(exc) or type(exc).__name__
    return scrub(" ".join(text.split()))


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code of a kit error (or of the OS errors a local path can raise)."""
    from kit.errors import (AuthenticationError, InvalidData, InvalidMetadata, NotFound,
                            PermissionDenied, RemoteError)

    table: list[tuple[type[BaseException] | tuple[type[BaseException], ...], int]] = [
        ((AuthenticationError, PermissionDenied), EXIT_AUTH),
        ((NotFound, FileNotFoundError, NotADirectoryError), EXIT_NOT_FOUND),
        ((InvalidMetadata, InvalidData), EXIT_INVALID),
        (RemoteError, EXIT_REMOTE),
        (UsageError, EXIT_USAGE),
    ]
    for types, code in table:
        if isinstance(exc, types):
            return code
    return EXIT_ERROR


# -- credentials for SOURCE commands -------------------------------------------------------


def add_auth_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "credentials",
        f"Without these, {ENV_TOKEN} or {ENV_USERNAME}/{ENV_PASSWORD}, kit.credentials and "
        "~/.netrc are used as in the library.")
    g.add_argument("--user", help="HTTP Basic user name (password: --password-env, else a prompt)")
    g.add_argument("--password", help="HTTP Basic password (visible in the process list: "
                   "prefer --password-env or the prompt)")
    g.add_argument("--password-env", metavar="VAR", help="read the Basic password from this variable")
    g.add_argument("--token", help="bearer token (visible in the process list: prefer --token-env)")
    g.add_argument("--token-env", metavar="VAR", help="read the bearer token from this variable")


def from_env(var: str, what: str) -> str:
    value = os.environ.get(var)
    if not value:
        raise UsageError(f"environment variable {var} (the {what}) is not set or empty")
    return value


def ask_password(user: str) -> str:
    """A prompt that echoes nothing; refused (not hung) when there is no terminal."""
    if not sys.stdin.isatty():
        raise UsageError(f"no password for user {user!r}: use --password-env VAR or set "
                         f"{ENV_PASSWORD} (there is no terminal to ask on)")
    return getpass.getpass(f"Password for {user}: ")


def password_option(args: argparse.Namespace, user: str, *, prompt: bool = True) -> str | None:
    """The password from --password (with a warning), --password-env, $NGFF_KIT_PASSWORD or a prompt."""
    if args.password is not None and args.password_env:
        raise UsageError("give --password or --password-env, not both")
    if args.password is not None:
        warn("--password on the command line is visible in the process list; "
             "prefer --password-env VAR or the prompt")
        return remember_secret(args.password)
    if args.password_env:
        return remember_secret(from_env(args.password_env, "password"))
    if prompt and os.environ.get(ENV_PASSWORD):
        return remember_secret(os.environ[ENV_PASSWORD])
    return remember_secret(ask_password(user)) if prompt else None


def token_option(args: argparse.Namespace) -> str | None:
    if args.token is not None and args.token_env:
        raise UsageError("give --token or --token-env, not both")
    if args.token is not None:
        warn("--token on the command line is visible in the process list; prefer --token-env VAR")
        return remember_secret(args.token)
    if args.token_env:
        return remember_secret(from_env(args.token_env, "token"))
    return None


def credential_from_args(args: argparse.Namespace) -> Any:
    """The explicit ``auth=`` for kit.open, or None to let the library's chain decide."""
    import kit

    token = token_option(args)
    has_password = args.password is not None or bool(args.password_env)
    if token is not None:
        if args.user or has_password:
            raise UsageError("give a token or a user and password, not both")
        return kit.BearerToken(token)
    if args.user:
        return kit.BasicAuth(args.user, password_option(args, args.user) or "")
    if has_password:
        raise UsageError("--password/--password-env need --user")
    return None


def open_source(args: argparse.Namespace) -> Any:
    import kit

    return kit.open(args.source, auth=credential_from_args(args))


# -- describing a tree (info) ---------------------------------------------------------------


def level_dict(lv: Any) -> dict[str, Any]:
    return {"path": lv.path, "shape": list(lv.shape), "dtype": str(lv.dtype),
            "chunks": list(lv.chunks), "scale": list(lv.scale), "translation": list(lv.translation)}


def tables_list(node: Any) -> list[dict[str, Any]]:
    return [{"name": name, "kind": t.kind, "backend": t.backend, "region": t.region}
            for name, t in node.tables.items()]


def channel_dict(ch: Any) -> dict[str, Any]:
    window = getattr(ch, "window", None)
    return {"label": ch.label, "color": ch.color,
            "window": [window.start, window.end] if window is not None else None}


def label_dict(name: str, label: Any) -> dict[str, Any]:
    return {"name": name, "type": "label", "axes": label.axes,
            "levels": [level_dict(lv) for lv in label.levels], "colors": len(label.colors)}


def image_dict(image: Any, path: str) -> dict[str, Any]:
    """Everything ``info`` shows of one image (levels, channels, labels, tables)."""
    return {
        "path": path, "type": type(image).__name__.lower(), "version": image.version,
        "axes": image.axes, "units": image.units,
        "channels": [channel_dict(c) for c in image.channels],
        "levels": [level_dict(lv) for lv in image.levels],
        "labels": [label_dict(n, lab) for n, lab in image.labels.items()],
        "tables": tables_list(image),
    }


def parallel(fn: Callable[[Any], Any], items: Iterable[Any]) -> list[Any]:
    """The sync API from a few threads: independent images load concurrently, not in a row."""
    items = list(items)
    if len(items) <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(min(16, len(items))) as pool:
        return list(pool.map(fn, items))


def describe(node: Any) -> dict[str, Any]:
    """A JSON-able tree of a node: the data of ``info`` and ``info --json``."""
    from kit.nodes import Group, Image, Plate, Well

    base = {"source": node.url, "version": node.version}
    if isinstance(node, Plate):
        wells = node.wells
        images = parallel(lambda w: {p: image_dict(im, p) for p, im in w.images.items()}, wells.values())
        return {**base, "type": "plate", "rows": node.rows, "columns": node.columns,
                "tables": tables_list(node),
                "wells": [{"path": p, "images": list(ims.values())} for p, ims in zip(wells, images)]}
    if isinstance(node, Well):
        return {**base, "type": "well",
                "images": parallel(lambda kv: image_dict(kv[1], kv[0]), node.images.items())}
    if isinstance(node, Image):
        return {**base, **image_dict(node, "")}
    if isinstance(node, Group):
        return {**base, "type": "group", "members": [member_dict(n, m) for n, m in node.members.items()]}
    return {**base, "type": type(node).__name__.lower()}


def member_dict(name: str, member: Any) -> dict[str, Any]:
    from kit.nodes import Image, Node

    if isinstance(member, Image):
        return image_dict(member, name)
    if isinstance(member, Node):
        return {"path": name, "type": type(member).__name__.lower()}
    shape, dtype = getattr(member, "shape", None), getattr(member, "dtype", None)
    return {"path": name, "type": "array", "shape": list(shape) if shape is not None else None,
            "dtype": str(dtype) if dtype is not None else None}


def fmt_tuple(values: Sequence[Any]) -> str:
    return "(" + ", ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in values) + ")"


def level_lines(levels: list[dict[str, Any]], indent: str) -> list[str]:
    return [f"{indent}level {lv['path']}: shape {fmt_tuple(lv['shape'])} {lv['dtype']} "
            f"chunks {fmt_tuple(lv['chunks'])} scale {fmt_tuple(lv['scale'])}" for lv in levels]


def table_lines(tables: list[dict[str, Any]], indent: str) -> list[str]:
    return [f"{indent}table {t['name']} ({t['kind']}, {t['backend']})"
            + (f" -> {t['region']}" if t.get("region") else "") for t in tables]


def image_lines(im: dict[str, Any], indent: str) -> list[str]:
    head = f"{indent}{im['path'] or '.'}  {im['type']} {''.join(im['axes'])}"
    lines = [head + (f", NGFF {im['version']}" if im.get("version") else "")]
    inner = indent + "  "
    if im["channels"]:
        lines.append(inner + "channels: " + ", ".join(
            f"{c['label']} (#{c['color']})" if c.get("color") else str(c["label"]) for c in im["channels"]))
    lines += level_lines(im["levels"], inner)
    for lab in im["labels"]:
        lines.append(f"{inner}label {lab['name']}: {''.join(lab['axes'])}, {len(lab['levels'])} levels, "
                     f"{lab['colors']} colours")
        lines += level_lines(lab["levels"], inner + "  ")
    lines += table_lines(im["tables"], inner)
    return lines


def layout_key(im: dict[str, Any]) -> str:
    """What makes two fields print the same: the text without the path, colour counts and windows."""
    return "\n".join(image_lines({**im, "path": "", "labels": [{**lab, "colors": 0} for lab in im["labels"]]}, ""))


def compact_image_lines(im: dict[str, Any], where: str, seen: dict[str, str], indent: str) -> list[str]:
    """A field in full the first time its layout appears, then one line pointing back to it."""
    key = layout_key(im)
    if key in seen:
        return [f"{indent}{im['path']}  {im['type']} {''.join(im['axes'])}, same layout as {seen[key]}"]
    seen[key] = where
    return image_lines(im, indent)


def tree_lines(d: dict[str, Any]) -> list[str]:
    """The ``tree``-like text of ``describe``'s dict."""
    kind = d["type"]
    if kind == "plate":
        n = len(d["wells"])
        lines = [f"{d['source']}  plate {len(d['rows'])}x{len(d['columns'])} "
                 f"(rows {' '.join(d['rows'])}; columns {' '.join(d['columns'])}), {n} wells, NGFF {d['version']}"]
        lines += table_lines(d["tables"], "  ")
        seen: dict[str, str] = {}
        for well in d["wells"]:
            lines.append(f"  well {well['path']}: {len(well['images'])} field(s)")
            for im in well["images"]:
                lines += compact_image_lines(im, f"{well['path']}/{im['path']}", seen, "    ")
        return lines
    if kind == "well":
        lines = [f"{d['source']}  well, {len(d['images'])} field(s), NGFF {d['version']}"]
        for im in d["images"]:
            lines += image_lines(im, "  ")
        return lines
    if kind in ("image", "label"):
        return [d["source"]] + image_lines(d, "  ")
    if kind == "group":
        lines = [f"{d['source']}  group, {len(d['members'])} member(s)"]
        for m in d["members"]:
            if m["type"] in ("image", "label"):
                lines += image_lines(m, "  ")
            elif m["type"] == "array":
                lines.append(f"  {m['path']}  array {fmt_tuple(m['shape'] or [])} {m['dtype']}")
            else:
                lines.append(f"  {m['path']}  {m['type']}")
        return lines
    return [f"{d['source']}  {kind}"]


def cmd_info(args: argparse.Namespace) -> int:
    """``info SOURCE``: the tree of a dataset, as text or JSON."""
    tree = describe(open_source(args))
    if args.json:
        say(json.dumps(tree, indent=2))
    else:
        for line in tree_lines(tree):
            say(line)
    return EXIT_OK


# -- pictures -------------------------------------------------------------------------------


def parse_channels(values: Sequence[str] | None) -> list[int | str] | None:
    """``--channels 0 GFP``: digits are indices, anything else a channel name."""
    if not values:
        return None
    return [int(v) if v.lstrip("-").isdigit() else v for v in values]


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG header, to tell the user what was written."""
    head = path.read_bytes()[:24]
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def write_png(rgb: Any, path: Path) -> Path:
    from kit.render import save_png

    path.parent.mkdir(parents=True, exist_ok=True)
    save_png(rgb, path)
    return path


def cmd_preview(args: argparse.Namespace) -> int:
    """``preview SOURCE -o out.png``: one PNG, reading only the chunks it shows."""
    import kit.render

    node = open_source(args)
    rgb = kit.render.preview(node, max_size=args.size, channels=parse_channels(args.channels),
                             z=args.z, t=args.t, labels=args.labels, level=args.level)
    out = write_png(rgb, Path(args.output))
    w, h = png_size(out)
    say(f"wrote {out} ({w}x{h})")
    return EXIT_OK


# -- demo -----------------------------------------------------------------------------------


def generate_sample(out: Path, version: str) -> Path:
    """Write the sample plate under ``out`` (replacing a previous demo's copy)."""
    from kit.demo.generate import sample_dataset

    target = out / DEMO_DATASET
    if target.exists():
        if not ((target / "zarr.json").exists() or (target / ".zgroup").exists()):
            raise UsageError(f"{target} exists and is not a zarr dataset: not overwriting it")
        shutil.rmtree(target)
    out.mkdir(parents=True, exist_ok=True)
    return sample_dataset(target, version=version)


def first_image_with_labels(plate: Any) -> tuple[str, Any, str | None]:
    """The first field that has a label image (the demo's preview subject)."""
    first = None
    for well_path in plate.well_paths:
        for field, image in plate.well(well_path).images.items():
            labels = image.labels
            first = first or (f"{well_path}/{field}", image, None)
            if labels:
                return f"{well_path}/{field}", image, next(iter(labels))
    if first is None:
        from kit.errors import NotFound

        raise NotFound("the plate has no image", where=plate.url)
    return first


def demo_pictures(plate: Any, out: Path) -> list[tuple[str, Path]]:
    """A field with its label overlay and the plate overview, as PNG files in ``out``."""
    import kit.render

    path, image, label = first_image_with_labels(plate)
    name = f"preview_{path.replace('/', '_')}.png"
    field_png = write_png(kit.render.preview(image, max_size=512, labels=label), out / name)
    overview = kit.render.plate_overview(plate, max_size=768, progress=False)
    overview_png = write_png(overview, out / "plate_overview.png")
    what = f"field {path}" + (f" with label {label!r}" if label else "")
    return [(what, field_png), ("plate overview", overview_png)]


def login_help(url: str, user: str | None, *, token: bool) -> list[str]:
    """How a notebook user logs in; never contains the secret itself."""
    if token:
        env = f"  export {ENV_TOKEN}=<token>"
        auth = 'auth=kit.BearerToken("<token>")'
        login = f'kit.login("{url}", kind="token")'
    else:
        env = f"  export {ENV_USERNAME}={user} {ENV_PASSWORD}=<password>"
        auth = f'auth=kit.BasicAuth("{user}", "<password>")'
        login = f'kit.login("{url}", username="{user}")'
    return [
        "In a notebook:",
        "  import kit",
        f"  {login}    # a prompt; the password is not saved in the notebook",
        f'  data = kit.open("{url}")',
        f'or: kit.open("{url}", {auth})',
        "or set the variables before starting Jupyter (nothing in the notebook at all):",
        env,
    ]


def cmd_demo(args: argparse.Namespace) -> int:
    """``demo``: the whole product in one command, over authenticated HTTP on loopback."""
    out = Path(args.out).resolve()
    started = time.perf_counter()
    dataset = generate_sample(out, args.version)
    say(f"sample plate (NGFF {args.version}) written to {dataset} "
        f"in {time.perf_counter() - started:.1f} s")
    if args.no_serve:
        return EXIT_OK
    return serve_demo(dataset, out, args)


def serve_demo(dataset: Path, out: Path, args: argparse.Namespace) -> int:
    import kit
    from kit.demo.server import DemoServer

    password = remember_secret(os.environ.get(ENV_DEMO_PASSWORD) or secrets.token_urlsafe(12))
    with DemoServer(dataset, auth="basic", username=DEMO_USER, password=password,
                    latency=args.latency) as server:
        say(f"serving it at {server.url} (HTTP Basic auth, fresh password; 127.0.0.1 only)")
        say("")
        plate = kit.open(server.url, auth=kit.BasicAuth(DEMO_USER, password or ""))
        for line in tree_lines(describe(plate)):
            say(line)
        n_tree = server.count()
        say("")
        for what, path in demo_pictures(plate, out):
            w, h = png_size(path)
            say(f"{what}: {path} ({w}x{h})")
        total = server.count()
        say(f"HTTP requests: {total} ({n_tree} for the tree, {total - n_tree} for the pictures)")
        if args.keep_serving:
            keep_serving(server, DEMO_USER, password or "")
    return EXIT_OK


def keep_serving(server: Any, user: str, password: str) -> None:
    """Print how to log in (the password once, here only) and block until Ctrl-C."""
    say("")
    say(f"Still serving {server.url}  (Ctrl-C to stop)")
    say(f"  user: {user}   password: {password}   (made up for this run; shown only here)")
    for line in login_help(server.url, user, token=False):
        say(line)
    server.serve_forever()


# -- serve ----------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def serve_secret(args: argparse.Namespace) -> tuple[str, str | None, str, bool]:
    """(auth kind, user, secret, generated?) for ``serve``; never prompts for a new secret."""
    token = token_option(args)
    if token is not None:
        if args.user or args.password is not None or args.password_env:
            raise UsageError("give --token or --user/--password, not both")
        return "bearer", None, token, False
    user = args.user or DEMO_USER
    password = password_option(args, user, prompt=False)
    if password:
        return "basic", user, password, False
    return "basic", user, remember_secret(secrets.token_urlsafe(12)) or "", True


def cmd_serve(args: argparse.Namespace) -> int:
    """``serve PATH``: share a local dataset with a class, behind a password."""
    from kit.demo.server import DemoServer

    root = Path(args.path)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a folder")
    kind, user, secret, generated = serve_secret(args)
    if not is_loopback(args.host):
        warn(f"serving on {args.host} over plain HTTP: the password crosses the network "
             "unencrypted; put an HTTPS proxy in front for anything but a trusted room")
    server = DemoServer(root, auth=kind, username=user or DEMO_USER,
                        password=secret if kind == "basic" else None,
                        token=secret if kind == "bearer" else None, host=args.host, port=args.port)
    server.start()
    say(f"Serving {root.resolve()} at {server.url}  ({'HTTP Basic' if kind == 'basic' else 'bearer token'}; "
        "Ctrl-C to stop)")
    if generated:
        say(f"  user: {user}   password: {secret}   (generated; shown once, not stored anywhere)")
    elif kind == "basic":
        say(f"  user: {user}   password: the one you gave")
    else:
        say("  token: the one you gave")
    for line in login_help(server.url, user, token=kind == "bearer"):
        say(line)
    server.serve_forever()
    return EXIT_OK


# -- consolidate ----------------------------------------------------------------------------


def cmd_consolidate(args: argparse.Namespace) -> int:
    """``consolidate PATH``: all metadata in one document, before publishing a dataset."""
    import kit

    written = kit.consolidate(args.path)
    say(f"wrote consolidated metadata: {written}")
    return EXIT_OK


# -- parser and entry point -----------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ngff-kit", description="Open, browse and preview OME-Zarr (OME-NGFF) from anywhere.",
        epilog="exit codes: 0 ok, 2 usage, 3 not found, 4 auth failure, 5 invalid metadata or "
               "unsupported version, 6 remote error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="generate a sample plate, serve it with a password, browse and preview it")
    p.add_argument("--out", default="demo-output", help="output folder (default: ./demo-output)")
    p.add_argument("--version", choices=("0.4", "0.5"), default="0.4", help="NGFF version of the sample")
    p.add_argument("--latency", type=float, default=0.0, metavar="S", help="added seconds per request")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--keep-serving", action="store_true", help="keep the server up and say how to log in")
    mode.add_argument("--no-serve", action="store_true", help="only generate the sample data (Binder's postBuild)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("info", help="the tree of a dataset: wells, fields, levels, channels, labels, tables")
    p.add_argument("source", help="path or URL (http(s), s3, refs JSON, any fsspec URL)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_auth_options(p)
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("preview", help="write a PNG preview of an image, well, label or plate")
    p.add_argument("source")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.add_argument("--channels", nargs="+", metavar="C", help="channel indices or names")
    p.add_argument("--z", type=int, help="z plane (default: the middle one)")
    p.add_argument("--t", type=int, help="time point (default: 0)")
    p.add_argument("--labels", metavar="NAME", help="overlay this label image")
    p.add_argument("--size", type=int, default=512, help="longest side in pixels (default 512)")
    p.add_argument("--level", type=int, help="read this pyramid level instead of choosing one")
    add_auth_options(p)
    p.set_defaults(func=cmd_preview)

    p = sub.add_parser("serve", help="serve a local dataset over HTTP with a password")
    p.add_argument("path")
    p.add_argument("--user", help=f"user name (default {DEMO_USER!r})")
    p.add_argument("--password", help="password (visible in the process list; prefer --password-env)")
    p.add_argument("--password-env", metavar="VAR", help="read the password from this variable")
    p.add_argument("--token", help="serve with a bearer token instead (prefer --token-env)")
    p.add_argument("--token-env", metavar="VAR", help="read the bearer token from this variable")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("consolidate", help="write consolidated metadata into a local dataset")
    p.add_argument("path")
    p.set_defaults(func=cmd_consolidate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ngff-kit`` script: one line on stderr and an exit code on failure."""
    args = build_parser().parse_args(argv)  # exits with 2 on bad usage
    try:
        return int(args.func(args) or EXIT_OK)
    except KeyboardInterrupt:
        print("ngff-kit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `ngff-kit info ... | head`: the reader left, nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - the CLI's promise: one line, never a traceback
        print(f"ngff-kit: error: {one_line(exc)}", file=sys.stderr, flush=True)
        return exit_code_for(exc)


if __name__ == "__main__":
    sys.exit(main())
