"""The command line's options, help texts and examples (one ``argparse`` parser)."""

from __future__ import annotations

import argparse
import textwrap

from kit._version import __version__
from kit.cli.consolidate import cmd_consolidate
from kit.cli.credentials import add_auth_options
from kit.cli.demo import DEMO_USER, cmd_demo
from kit.cli.exits import CODES
from kit.cli.info import cmd_info
from kit.cli.preview import cmd_preview, index_int, positive_int
from kit.cli.serve import cmd_serve, port_number
from kit.cli.validate import cmd_validate
from kit.render.spec import FIELDS, LABEL_STYLES

SOURCE_HELP = "dataset path or URL: local folder, http(s)://, s3://, a refs JSON, any fsspec URL"
EXIT_CODES = "exit codes: " + ", ".join(f"{code} {what}" for code, what in sorted(CODES.items()))

EXAMPLES = {
    "validate": """examples:
  ngff-kit validate data.ome.zarr                 # errors with their field path, warnings
  ngff-kit validate data.ome.zarr --strict --json # one JSON line (conformance runner dingus)
  ngff-kit validate --attributes zarr-attrs.json  # one attributes document""",
    "demo": """examples:
  ngff-kit demo                          # sample plate, served with a password, previewed
  ngff-kit demo --keep-serving           # ... and keep serving, with how to log in
  ngff-kit demo --version 0.5 --no-serve --out data""",
    "info": """examples:
  ngff-kit info plate.zarr
  ngff-kit info https://example.org/plate.zarr --user alice --password-env PW
  ngff-kit info s3://bucket/image.zarr --json""",
    "preview": """examples:
  ngff-kit preview plate.zarr -o plate.png
  ngff-kit preview plate.zarr/B/03/0 -o field.png --channels DAPI 1 --labels nuclei --size 256
  ngff-kit preview image.zarr -o plane.png --z 2 --t 0 --level 1
  ngff-kit preview image.zarr -o masks.png --labels nuclei --label-style fill
  ngff-kit preview plate.zarr -o all.png --fields all   # every field of each well
  ngff-kit preview image.zarr -o raw.png --no-annotate  # no scale bar, legend or names
  ngff-kit preview image.zarr -o world.png --coordinate-system world  # a 0.6 system of its own
  ngff-kit preview scene.zarr -o scene.png --labels nuclei  # a 0.6 scene, members placed""",
    "serve": """examples:
  ngff-kit serve plate.zarr                       # a made-up password, printed once
  ngff-kit serve plate.zarr --user class --password-env PW --port 8080
  ngff-kit serve data/ --token-env TOKEN --host 0.0.0.0   # plain HTTP: trusted rooms only
  ngff-kit serve --mirror https://example.org/plate.zarr --upstream-user me \
      --upstream-password-env UPSTREAM_PW --user class --password-env CLASS_PW --port 8080
  ngff-kit serve --mirror s3://bucket/plate.zarr --students tokens.txt --host 0.0.0.0""",
    "consolidate": """examples:
  ngff-kit consolidate plate.zarr      # then publish the folder; readers need one request""",
}


def _sub(sub: argparse._SubParsersAction, name: str, help_text: str,
         description: str | None = None) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_text,
                          description=textwrap.fill(description or help_text, 78),
                          epilog=EXAMPLES[name] + "\n\n" + EXIT_CODES,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ngff-kit", description="Open, browse and preview OME-Zarr (OME-NGFF) from anywhere.",
        epilog="example: ngff-kit demo   (then: ngff-kit COMMAND --help)\n\n" + EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ngff-kit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = _sub(sub, "demo",
             "generate a sample plate, serve it with a password, browse and preview it")
    p.add_argument("--out", default="demo-output", help="output folder (default: ./demo-output)")
    p.add_argument("--version", choices=("0.4", "0.5"), default="0.4",
                   help="NGFF version of the sample")
    p.add_argument("--latency", type=float, default=0.0, metavar="S",
                   help="added seconds per request")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--keep-serving", action="store_true",
                      help="keep the server up and say how to log in")
    mode.add_argument("--no-serve", action="store_true",
                      help="only generate the sample data (Binder's postBuild)")
    p.set_defaults(func=cmd_demo)

    p = _sub(sub, "info", "the tree of a dataset: wells, fields, levels, channels, labels, tables")
    p.add_argument("source", help=SOURCE_HELP)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    add_auth_options(p)
    p.set_defaults(func=cmd_info)

    p = _sub(sub, "preview", "write a PNG preview of an image, well, label, plate or scene")
    p.add_argument("source", help=SOURCE_HELP + " (an image, label, well, plate or scene)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.png", help="PNG file to write")
    p.add_argument("--channels", nargs="+", metavar="C", help="channel indices or names")
    p.add_argument("--z", type=index_int, help="z plane (default: the middle one)")
    p.add_argument("--t", type=index_int, help="time point (default: 0)")
    p.add_argument("--labels", metavar="NAME", help="overlay this label image")
    p.add_argument("--label-style", choices=LABEL_STYLES,
                   help="draw the labels as outlines or filled; auto (default) fills objects "
                        "smaller than a few pixels at the picture's scale, outlines the others")
    p.add_argument("--colors", nargs="+", metavar="RRGGBB",
                   help="a colour per shown channel (hex, or - for the metadata's)")
    p.add_argument("--gamma", type=float, default=1.0,
                   help="gamma of every channel after its window (default 1; below 1 lifts "
                        "faint signal)")
    p.add_argument("--size", type=positive_int, default=512,
                   help="longest side in pixels (default 512)")
    p.add_argument("--level", type=index_int,
                   help="read this pyramid level instead of choosing one")
    p.add_argument("--coordinate-system", metavar="NAME",
                   help="draw the image in this (NGFF 0.6) coordinate system of its own, "
                        "resampled through its transforms (default: its first, intrinsic one)")
    p.add_argument("--fields", choices=FIELDS, default="first",
                   help="plate overview: each well's first field (default) or all of them")
    p.add_argument("--annotate", action=argparse.BooleanOptionalAction, default=True,
                   help="draw a scale bar, the channel legend and, on a plate, the well names "
                        "with gaps between wells into the picture (default: on)")
    add_auth_options(p)
    p.set_defaults(func=cmd_preview)

    p = _sub(sub, "serve", "serve a local dataset over HTTP with a password, or relay a remote "
             "one to a class (--mirror)",
             "Serve a local folder over HTTP with a password; or, with --mirror URL, run the "
             "classroom relay: it reads a remote dataset (http(s), s3://, refs, DANDI) with "
             "the instructor's credential and serves it to the class behind a class password "
             "or per-student tokens, with one upstream request per key however many students "
             "ask, consolidated metadata, a rate limit per student, an access log and a status "
             "page (/_relay/status). The upstream's credential never reaches a student.")
    p.add_argument("path", nargs="?",
                   help="local folder to serve (a dataset, or a folder of datasets)")
    p.add_argument("--user", help=f"user name (default {DEMO_USER!r})")
    p.add_argument("--password",
                   help="password (visible in the process list; prefer --password-env)")
    p.add_argument("--password-env", metavar="VAR", help="read the password from this variable")
    p.add_argument("--token", help="serve with a bearer token instead (prefer --token-env)")
    p.add_argument("--token-env", metavar="VAR", help="read the bearer token from this variable")
    p.add_argument("--port", type=port_number, default=8000,
                   help="port (default 8000; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    r = p.add_argument_group(
        "classroom relay",
        "--mirror URL relays a remote dataset. Students log in with --user/--password-env "
        "(a class password) or --students FILE (tokens file: one 'name token' a line, '#' "
        "comments). Without --upstream-*, the upstream credential comes from the library's "
        "chain (AWS_* for s3://, DANDI_API_KEY for DANDI refs, ~/.netrc).")
    r.add_argument("--mirror", metavar="URL", help="the upstream dataset to relay")
    r.add_argument("--upstream-user", metavar="U", help="HTTP Basic user for the upstream")
    r.add_argument("--upstream-password-env", metavar="VAR",
                   help="read the upstream's Basic password from this variable")
    r.add_argument("--upstream-token-env", metavar="VAR",
                   help="read the upstream's bearer token from this variable")
    r.add_argument("--cache", metavar="DIR", help="keep the upstream's answers on disk in DIR")
    r.add_argument("--students", metavar="FILE", help="per-student tokens file")
    r.add_argument("--access-log", metavar="FILE",
                   help="append the access log here (default: stderr)")
    p.set_defaults(func=cmd_serve)

    p = _sub(sub, "consolidate",
             "write consolidated metadata into a local dataset (before publishing)",
             "Write all metadata of a local dataset into one document (zarr v2: .zmetadata; zarr "
             "v3: inline in the root zarr.json), so readers get the whole hierarchy in one request "
             "instead of one per group and array. Run it before publishing or serving a dataset; "
             "it is the one command that writes into the dataset.")
    p.add_argument("path", help="local dataset folder (its root group)")
    p.set_defaults(func=cmd_consolidate)

    p = _sub(sub, "validate", "check a dataset (or one attributes document) against the NGFF rules")
    p.add_argument("source", help=SOURCE_HELP + " (or, with --attributes, a JSON file)")
    p.add_argument("--strict", action="store_true", help="also apply the SHOULD rules")
    p.add_argument("--json", action="store_true",
                   help='print one line {"valid": bool, "message": str}; exit 0 either way')
    p.add_argument("--attributes", action="store_true",
                   help="SOURCE is a single attributes JSON document, not a hierarchy")
    add_auth_options(p)
    p.set_defaults(func=cmd_validate)
    return parser
