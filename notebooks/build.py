"""Write the tutorial notebooks from the cell sources below (run: ``python notebooks/build.py``).

The sources live here as plain Python strings so a review reads them as code; the ``.ipynb``
files are committed without outputs. Every notebook starts its own demo server on 127.0.0.1
(sample data in a temp folder, password on), so it runs offline, on Binder and in CI, and stops
the server at the end. The password is made up per run and never printed; CI pins it through
``NGFF_KIT_DEMO_PASSWORD`` to check that no executed notebook contains it.

``python notebooks/build.py --execute`` also runs them and stores copies with their outputs in
docs/notebooks/ (for readers of the repository; ``render_docs`` below says how they are made
stable). The exercises (05) come as two notebooks made from one list: the learner's, with empty
answer cells whose checks fail with a hint, and the solutions.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import secrets
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = '''\
import os, secrets, tempfile
from pathlib import Path

import kit
from kit.demo.generate import sample_dataset
from kit.demo.server import DemoServer

# Sample data: pre-generated on Binder (NGFF_KIT_DEMO_DATA), otherwise written now (a few seconds).
demo_dir = Path(os.environ.get("NGFF_KIT_DEMO_DATA") or tempfile.mkdtemp(prefix="ngff-kit-"))
plate_path = demo_dir / "plate.zarr"
if not plate_path.exists():
    sample_dataset(plate_path)

# A local server with a password made up for this session; it plays "the remote lab server".
# The password is never printed (CI pins it via NGFF_KIT_DEMO_PASSWORD to check that).
server = DemoServer(plate_path, auth="basic", username="student",
                    password=os.environ.get("NGFF_KIT_DEMO_PASSWORD") or secrets.token_urlsafe(12))
server.start()
url = server.url
print("demo server:", url)'''

TEARDOWN = '''\
server.stop()
print("server stopped")'''


def md(text: str) -> nbformat.NotebookNode:
    return new_markdown_cell(dedent(text).strip())


def code(text: str, *, tag: str | None = None) -> nbformat.NotebookNode:
    cell = new_code_cell(dedent(text).strip())
    if tag:  # "answer", "solution", "check" (05), "server" (06: the cell a relay replaces)
        cell.metadata["tags"] = [tag]
    return cell


def notebook(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


# -- 01 ---------------------------------------------------------------------------------------

QUICKSTART = [
    md("""
    # Quickstart: open, browse, preview

    `kit.open` takes a path or URL (HTTP, S3, a refs file, DANDI) and returns lazy nodes:
    a **Plate** with **Wells**, each holding **Images** (multiscale pyramids) with **labels**
    and **tables**. Nothing but small metadata documents is read until you ask for pixels.

    The first cell starts a small password-protected server on this machine with a sample
    plate, so this notebook runs anywhere, even offline.
    """),
    code(SETUP),
    md("""
    ## Open the plate over authenticated HTTP

    `auth=` gives a credential to this call only; it is sent to this server's origin and
    nowhere else. Its repr never shows the password.
    """),
    code("""
    auth = kit.BasicAuth(server.username, server.password)
    plate = kit.open(url, auth=auth)
    print(auth)
    plate
    """),
    code("""
    print("rows:", plate.rows, "columns:", plate.columns)
    print("wells:", list(plate.wells))
    """),
    md("## One field of view: axes, channels, pyramid levels"),
    code("""
    image = plate["B/03/0"]
    print("axes:", image.axes)
    for ch in image.channels:
        print(f"channel {ch.label:8s} color #{ch.color}")
    for lv in image.levels:
        print(f"level {lv.path}: shape {lv.shape} {lv.dtype}, chunks {lv.chunks},",
              f"pixel {lv.scale[-1]} µm")
    print("labels:", list(image.labels), " tables:", {n: t.kind for n, t in image.tables.items()})
    """),
    md("""
    ## Preview

    `kit.preview` picks the coarsest level that covers `max_size` pixels, reads one plane, and
    composites the channels with their colours; `labels=` draws a label image's outlines.
    """),
    code("""
    from IPython.display import Image as PNG
    from kit.render import to_png

    before = server.count()
    rgb = kit.preview(image, max_size=384, labels="nuclei")
    print(rgb.shape, rgb.dtype, "-", server.count() - before, "HTTP requests")
    PNG(to_png(rgb))
    """),
    code("""
    overview = kit.plate_overview(plate, max_size=600, progress=False)
    PNG(to_png(overview))   # the grey cell is C/04, a well without data
    """),
    md("## Browse interactively (wells, fields, channels, z, labels)"),
    code("""
    kit.browse(plate)
    """),
    md("""
    ## Pixels as dask arrays

    `to_dask(level)` is lazy: computing a plane reads only its chunks.
    """),
    code("""
    arr = image.to_dask(level=1)
    print(arr)
    before = server.count()
    dapi_mean = float(arr[0, 1].mean().compute())
    print(f"mean DAPI at z=1, level 1: {dapi_mean:.1f} ({server.count() - before} requests)")
    assert arr.shape == image.levels[1].shape and dapi_mean > 0
    """),
    code(TEARDOWN),
]

# -- 02 ---------------------------------------------------------------------------------------

AUTH = [
    md("""
    # Authenticated HTTP and S3

    Ways to give credentials, from the most explicit to the most automatic:

    1. `auth=` on `kit.open` (this call only);
    2. `kit.login()` (a prompt) or `kit.credentials.register(url, credential)` (this session);
    3. environment variables `NGFF_KIT_TOKEN`, or `NGFF_KIT_USERNAME` + `NGFF_KIT_PASSWORD`,
       sent only to the servers named in `NGFF_KIT_ORIGINS`;
    4. `~/.netrc` (or the file named by `$NETRC`), a `machine <host>` entry.

    A credential belongs to one origin (scheme, host, port): it is never sent to another host,
    not across redirects, not to presigned URLs. It never appears in a repr, an error message,
    widget state or this saved notebook.
    """),
    code(SETUP),
    md("## Without credentials: a clear error, no secret in it"),
    code("""
    try:
        kit.open(url)
    except kit.AuthenticationError as exc:
        print(type(exc).__name__, "-", exc)
    """),
    md("""
    ## 1. `auth=` for one call
    """),
    code("""
    plate = kit.open(url, auth=kit.BasicAuth("student", server.password))
    plate
    """),
    md("""
    ## 2. The login prompt

    `kit.login(url)` shows a user/password form. On *Sign in* it checks the credential against
    the server, registers it for that origin, and **clears the password field before anything
    else**, so the password is not in the widget state that Jupyter may save with the notebook.
    (Run non-interactively here, nobody types into it.)
    """),
    code("""
    kit.login(url, username="student")
    """),
    md("""
    The same registration from code (useful in scripts): the session registry then answers
    for that origin, so `kit.open(url)` needs no `auth=`.
    """),
    code("""
    kit.credentials.register(url, kit.BasicAuth("student", server.password))
    print(kit.credentials)                   # origins only, never the secret
    print(sorted(kit.open(url).wells))
    kit.credentials.remove(url)
    """),
    md("""
    ## 3. Environment variables

    Set them before starting Jupyter (or in a Binder/JupyterHub profile) and the notebook
    contains no credential at all. Here we set them from Python for the demo.
    """),
    code("""
    os.environ["NGFF_KIT_USERNAME"] = "student"
    os.environ["NGFF_KIT_PASSWORD"] = server.password
    os.environ["NGFF_KIT_ORIGINS"] = server.url  # the only server they may be sent to
    print(kit.open(url))
    del os.environ["NGFF_KIT_USERNAME"], os.environ["NGFF_KIT_PASSWORD"]
    del os.environ["NGFF_KIT_ORIGINS"]
    """),
    md("## 4. A netrc file (`machine <host> login <user> password <password>`)"),
    code("""
    from urllib.parse import urlsplit

    netrc_file = demo_dir / "demo.netrc"
    host = urlsplit(url).hostname
    netrc_file.write_text(f"machine {host} login student password {server.password}\\n")
    netrc_file.chmod(0o600)
    os.environ["NETRC"] = str(netrc_file)
    print(kit.open(url))
    del os.environ["NETRC"]
    netrc_file.unlink()
    """),
    md("""
    ## Bearer tokens

    Token-protected servers take `kit.BearerToken(token)` or `NGFF_KIT_TOKEN`.
    """),
    code("""
    token_server = DemoServer(
        plate_path, auth="bearer",
        token=os.environ.get("NGFF_KIT_DEMO_TOKEN") or secrets.token_urlsafe(16))
    token_server.start()
    token = kit.BearerToken(token_server.token)
    print(token, "->", kit.open(token_server.url, auth=token))
    token_server.stop()
    """),
    md("""
    ## What never gets saved

    Reprs, error messages and widget state hold no secret. The test suite executes this
    notebook with widget state stored and searches the saved file for the password and token.
    """),
    code("""
    texts = [repr(kit.BasicAuth("student", server.password)), repr(kit.credentials), repr(plate)]
    try:
        kit.open(url, auth=kit.BasicAuth("student", server.password + "-wrong"))
    except kit.AuthenticationError as exc:
        texts.append(str(exc))
    assert not any(server.password in t for t in texts)
    print("no secret in", len(texts), "reprs and messages")
    """),
    md("""
    ## S3 (moto's local S3 server, when installed)

    `kit.S3Credentials(key, secret, token=None, endpoint_url=None, anon=False)`; without
    one, s3fs's usual chain applies (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`,
    `AWS_PROFILE`, instance roles), and public buckets open with `anon=True`. This part
    uses [moto](https://github.com/getmoto/moto)'s S3 server on 127.0.0.1; where moto is not
    installed (e.g. a plain Binder) it explains and skips.
    """),
    code("""
    import logging, socket
    from concurrent.futures import ThreadPoolExecutor

    try:
        import boto3
        from moto.server import ThreadedMotoServer
    except ImportError:
        ThreadedMotoServer = None
        print("moto/boto3 not installed: skipping the S3 part",
              "(pip install 'moto[server]' boto3 s3fs)")

    if ThreadedMotoServer is not None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)   # moto's request log
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        s3 = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        s3.start()
        endpoint = f"http://127.0.0.1:{port}"
        key_id = "AKIA" + secrets.token_hex(8).upper()
        secret = os.environ.get("NGFF_KIT_DEMO_S3_SECRET") or secrets.token_urlsafe(24)
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id=key_id, aws_secret_access_key=secret)
        client.create_bucket(Bucket="lab-data")
        field_dir = plate_path / "B" / "03" / "0"      # upload one field of view (an image)
        files = [f for f in field_dir.rglob("*") if f.is_file()]
        put = lambda f: client.put_object(Bucket="lab-data", Body=f.read_bytes(),
                                          Key=f"B03-0.zarr/{f.relative_to(field_dir).as_posix()}")
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(put, files))

        creds = kit.S3Credentials(key=key_id, secret=secret, endpoint_url=endpoint)
        s3_image = kit.open("s3://lab-data/B03-0.zarr", auth=creds)
        print(creds)
        print(s3_image, "- labels:", list(s3_image.labels),
              "- coarsest level:", s3_image.levels[-1].shape)
        assert secret not in repr(creds) + repr(s3_image)
        s3.stop()
    """),
    code(TEARDOWN),
]

# -- 03 ---------------------------------------------------------------------------------------

PLATES = [
    md("""
    # Plates, labels, ROIs and tables

    Tables follow the Fractal/ngio conventions: **ROI tables** (regions in micrometres),
    **masking ROI tables** (one row per label object), **feature tables** (one row per
    label value, `region` pointing at the label image) and **condition tables**. They are read
    without anndata, from AnnData-on-zarr, parquet, csv or json, into pandas.
    """),
    code(SETUP),
    code("""
    import numpy as np
    import pandas as pd
    from IPython.display import Image as PNG
    from kit.render import to_png

    plate = kit.open(url, auth=kit.BasicAuth("student", server.password))
    image = plate["B/03/0"]
    {name: (t.kind, t.backend, t.region) for name, t in image.tables.items()}
    """),
    md("## ROI tables: read one field of view"),
    code("""
    fovs = image.tables["FOV_ROI_table"].to_pandas()
    display(fovs)
    roi = fovs.loc["FOV_2"]
    fov = image.read_roi(roi, level=1)          # lazy: only this region's chunks are read
    print(fov.shape, fov.dtype)
    """),
    md("## Masking ROIs: one nucleus and its mask"),
    code("""
    nuclei_rois = image.tables["nuclei_ROI_table"].to_pandas()
    row = nuclei_rois.iloc[0]
    pixels = image.read_roi(row, level=0).compute()
    mask = image.read_roi_mask(row, "nuclei", level=0).compute()
    print(f"nucleus {nuclei_rois.index[0]}: box {pixels.shape[-2:]},",
          f"{int(mask.sum())} voxels in the mask")
    """),
    md("""
    ## Feature tables joined to labels

    The feature table's index is the label value. We measure the mean DAPI intensity per
    nucleus ourselves from the label image and join it to the stored features.
    """),
    code("""
    features = image.tables["nuclei_features"].to_pandas()
    labels = image.labels["nuclei"].to_dask(level=0).compute()           # (z, y, x)
    dapi = image.to_dask(level=0)[image.channel_names.index("DAPI")].compute()
    ids, inverse = np.unique(labels.ravel(), return_inverse=True)
    sums = np.bincount(inverse, weights=dapi.ravel().astype(float))
    counts = np.bincount(inverse)
    measured = pd.Series(sums / counts, index=ids, name="measured_DAPI").drop(0, errors="ignore")
    joined = features.join(measured, how="left")
    display(joined[["area", "mean_intensity_DAPI", "measured_DAPI", "cell_class"]].head())
    r = joined["mean_intensity_DAPI"].corr(joined["measured_DAPI"])
    print("correlation stored vs measured:", round(r, 3))
    """),
    code("""
    PNG(to_png(kit.preview(image, max_size=384, labels="nuclei", z=1)))
    """),
    md("## A per-well statistic, with the plate's condition table"),
    code("""
    rows = []
    for well_path, well in plate.wells.items():
        for field, img in well.images.items():
            f = img.tables["nuclei_features"].to_pandas()
            rows.append({"well": well_path, "field": field, "nuclei": len(f),
                         "mean_DAPI": f["mean_intensity_DAPI"].mean(),
                         "mitotic_fraction": f["is_mitotic"].mean()})
    per_field = pd.DataFrame(rows)
    per_well = per_field.groupby("well").agg(nuclei=("nuclei", "sum"),
                                             mean_DAPI=("mean_DAPI", "mean"),
                                             mitotic_fraction=("mitotic_fraction", "mean"))
    conditions = plate.tables["condition"].to_pandas()
    summary = per_well.join(conditions[["treatment", "concentration_uM"]])
    summary
    """),
    code("""
    import io
    from matplotlib.figure import Figure

    grid = np.full((len(plate.rows), len(plate.columns)), np.nan)
    for well_path, n in summary["nuclei"].items():
        r, c = well_path.split("/")
        grid[plate.rows.index(r), plate.columns.index(c)] = n
    fig = Figure(figsize=(4, 2.6))
    ax = fig.add_subplot()
    im = ax.imshow(grid, cmap="viridis")
    ax.set_xticks(range(len(plate.columns)), plate.columns)
    ax.set_yticks(range(len(plate.rows)), plate.rows)
    ax.set_title("nuclei per well")
    fig.colorbar(im, ax=ax)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    PNG(buf.getvalue())
    """),
    code("""
    second_field = plate["B/03/1"].tables["nuclei_features"].to_pandas()
    assert summary.loc["B/03", "nuclei"] == len(features) + len(second_field)
    assert "C/04" not in summary.index     # the empty well has no data
    """),
    code(TEARDOWN),
]

# -- 04 ---------------------------------------------------------------------------------------

REFS = [
    md("""
    # Reference files: kerchunk, LINDI and DANDI

    A *refs* document maps every zarr key to inline content or to a byte range of another file
    (`[url, offset, length]`). LINDI (`.lindi.json`, `.lindi.tar`) uses the same idea for NWB
    files on DANDI. The kit reads them as a zarr store: only the referenced byte ranges are
    fetched, and ranges of one file requested together are merged.

    Here we write a refs document for the sample plate that points at our local
    password-protected server, then open it two ways: served by that server, and as a local file.
    """),
    code(SETUP),
    code("""
    import json

    def refs_for(folder, base_url, inline_below=500):
        \"\"\"A kerchunk v1 document: small metadata files inline, everything else by URL.\"\"\"
        refs = {}
        for f in sorted(folder.rglob("*")):
            if not f.is_file():
                continue
            key = f.relative_to(folder).as_posix()
            size = f.stat().st_size
            if f.name in (".zgroup", ".zattrs", ".zarray", "zarr.json") and size < inline_below:
                refs[key] = f.read_text()
            else:
                refs[key] = [base_url + key, 0, size]
        return {"version": 1, "refs": refs}

    doc = refs_for(plate_path, url)
    by_url = sum(isinstance(v, list) for v in doc["refs"].values())
    print(len(doc["refs"]), "keys;", by_url, "point at the server")
    _ = (plate_path / "plate.refs.json").write_text(json.dumps(doc))   # served next to the data
    """),
    md("""
    ## A refs document served over authenticated HTTP

    `auth=` binds to the document's origin. The refs point at the same origin, so they get
    the credential too; a host a refs file merely *names* would get nothing unless you
    registered a credential for exactly that host.
    """),
    code("""
    before = server.count()
    plate = kit.open(url + "plate.refs.json", auth=kit.BasicAuth("student", server.password))
    image = plate["B/03/0"]
    print(plate, "-", image.levels[-1].shape)
    print(server.count() - before, "requests to open the document and read the metadata")
    """),
    code("""
    from IPython.display import Image as PNG
    from kit.render import to_png

    PNG(to_png(kit.preview(image, max_size=256, labels="nuclei")))
    """),
    md("""
    ## A local refs file pointing at a protected server

    A local file has no origin of its own, so `auth=` cannot apply; register the credential
    for the data host instead (this is also what `kit.login(url)` does).
    """),
    code("""
    local_refs = demo_dir / "local.refs.json"
    local_refs.write_text(json.dumps(doc))
    try:
        kit.open(local_refs)["B/03/0"].to_dask(level=2)[0, 0].compute()
    except kit.AuthenticationError as exc:
        print("without a registered credential:", type(exc).__name__)
    kit.credentials.register(url, kit.BasicAuth("student", server.password))
    local_plate = kit.open(local_refs)
    plane = local_plate["B/03/0"].to_dask(level=2)[0, 0].compute()
    print("read", plane.shape, "from", local_refs.name)
    kit.credentials.remove(url)
    """),
    md("""
    ## DANDI: an API token exchanged for presigned URLs

    On DANDI, refs point at the archive's stable API URLs
    (`https://api.dandiarchive.org/api/assets/<id>/download/`), which answer with a redirect to a
    short-lived presigned S3 URL. The kit exchanges each API URL once per validity window
    (renewing it shortly before it expires), sends your token only to the API
    (`kit.DandiToken(token)` or `DANDI_API_KEY`), and sends nothing to S3.

    To see it offline, `kit.demo.dandi.DandiArchive` runs a DANDI-like API and an S3-like
    store on loopback. We publish one field of the plate there as an embargoed asset per folder
    and open it through a refs document whose chunks point at API URLs.
    """),
    code("""
    import secrets
    from kit.demo.dandi import DandiArchive
    from kit.demo.refs import folder_refs

    dandi_key = secrets.token_urlsafe(16)          # stands for your DANDI API key
    archive = DandiArchive(token=dandi_key, lifetime=600).__enter__()
    field = plate_path / "B/03/0"
    dandi_refs, blobs = folder_refs(
        field, lambda name: f"{archive.api_url}/assets/{name}/download/",
        lambda key: "asset-" + key.split("/")[0])
    for name, data in blobs.items():
        archive.add_asset(name, data, embargoed=True)
    print(len(blobs), "embargoed assets; the refs name", archive.api_url)
    """),
    code("""
    try:
        options = {"dandi_instances": [archive.api_url]}
        kit.open(dandi_refs, storage_options=options).to_dask(2).compute()
    except kit.AuthenticationError as exc:
        print("without a token:", type(exc).__name__)

    dandi_image = kit.open(dandi_refs, auth=kit.DandiToken(dandi_key, instance=archive.api_url))
    PNG(to_png(kit.preview(dandi_image, max_size=256, labels="nuclei")))
    """),
    code("""
    s3_hits = [h for h in archive.hits if h.origin == "s3"]
    print("exchanges at the API:", archive.count("api", status=302))
    print("reads from S3:", len(s3_hits), "- of them carrying a token:",
          sum(h.authorization is not None for h in s3_hits))
    archive.__exit__(None, None, None)
    """),
    md("""
    With a real archive the same two lines work, e.g.
    `kit.open(".../nwb.lindi.json", auth=kit.DandiToken(instance="dandi"))` (token from
    `DANDI_API_KEY`). A file opened through LINDI that is not OME-Zarr comes back as a
    `kit.Group` whose `.members` are its groups and arrays.
    """),
    code(TEARDOWN),
]

# -- 05 ---------------------------------------------------------------------------------------
# One list of exercises makes two notebooks: the learner's (answer cells with ``...``, checks
# that fail with a one-line hint until answered) and the solutions (the same checks, passing).


@dataclass(frozen=True)
class Exercise:
    task: str  # the markdown: what to do
    answer: str  # the learner's cell: names bound to ``...``
    solution: str  # the same names, answered
    check: str  # passes with the solution, fails with a hint on ``...`` or a wrong answer


EXERCISES = [
    Exercise(
        task="""
        ### Task 1: how many wells hold data?

        Some wells listed in the plate's rows/columns have no images. Store the number of wells
        with data in `n_wells`.
        """,
        answer="""
        n_wells = ...   # the number of wells that hold images
        """,
        solution="""
        n_wells = len(plate.wells)
        """,
        check="""
        # check
        answered("Task 1", n_wells)
        expect(n_wells == len(plate.rows) * len(plate.columns) - 1,
               "Task 1: not quite - one position of the 2x3 grid is empty (hint: plate.wells)")
        print("Task 1 ok:", n_wells, "wells")
        """),
    Exercise(
        task="""
        ### Task 2: the pyramid

        For field `B/04/1`, store the shape of the **coarsest** level in `coarsest_shape` and the
        pixel size in x at **level 1** (micrometres) in `pixel_x_level1`.
        """,
        answer="""
        img = plate["B/04/1"]
        coarsest_shape = ...   # the shape of the coarsest level
        pixel_x_level1 = ...   # the pixel size along x at level 1, in micrometres
        """,
        solution="""
        img = plate["B/04/1"]
        coarsest_shape = img.levels[-1].shape
        pixel_x_level1 = img.levels[1].scale[img.axes.index("x")]
        """,
        check="""
        # check
        answered("Task 2", coarsest_shape, pixel_x_level1)
        expect(tuple(coarsest_shape) == (3, 3, 128, 128),
               "Task 2: coarsest_shape is not the shape of the last level (hint: img.levels)")
        expect(abs(pixel_x_level1 - 0.65) < 1e-9,
               "Task 2: pixel_x_level1 is not level 1's scale along x (hint: .scale and img.axes)")
        print("Task 2 ok")
        """),
    Exercise(
        task="""
        ### Task 3: one channel only

        Make a preview `rgb` of `B/04/1` showing only the GFP channel at `z=0`, at most 200 pixels.
        GFP is drawn in green, so red and blue should stay empty.
        """,
        answer="""
        rgb = ...   # kit.preview(...) of B/04/1: GFP only, z=0, at most 200 pixels
        """,
        solution="""
        rgb = kit.preview(plate["B/04/1"], channels=["GFP"], z=0, max_size=200)
        """,
        check="""
        # check
        answered("Task 3", rgb)
        expect(isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3,
               "Task 3: rgb should be the picture kit.preview returns (a uint8 RGB array)")
        expect(max(rgb.shape[:2]) <= 200,
               "Task 3: the picture is larger than 200 pixels (max_size=)")
        expect(rgb[..., 1].max() > 0 and rgb[..., 0].max() == 0 and rgb[..., 2].max() == 0,
               "Task 3: red or blue is not empty - show the GFP channel only (channels=)")
        print("Task 3 ok")
        """),
    Exercise(
        task="""
        ### Task 4: count nuclei two ways

        Count the nuclei of `B/03/0` from the **label image** (its distinct non-zero values, at
        level 0: small nuclei can vanish from coarser levels) into `n_from_labels`, and from the
        **feature table** `nuclei_features` into `n_from_table`.
        """,
        answer="""
        field = plate["B/03/0"]
        n_from_labels = ...   # distinct non-zero values of the nuclei label image at level 0
        n_from_table = ...    # rows of the nuclei_features table
        """,
        solution="""
        field = plate["B/03/0"]
        lab = field.labels["nuclei"].to_dask(level=0).compute()
        n_from_labels = len(np.unique(lab[lab > 0]))
        n_from_table = len(field.tables["nuclei_features"].to_pandas())
        """,
        check="""
        # check
        answered("Task 4", n_from_labels, n_from_table)
        expect(n_from_labels == n_from_table > 0,
               f"Task 4: {n_from_labels} nuclei in the labels but {n_from_table} in the table")
        print("Task 4 ok:", n_from_labels, "nuclei")
        """),
    Exercise(
        task="""
        ### Task 5: the brightest well

        Using level 1 of every first field (`"0"`), find the well whose mean DAPI intensity is the
        highest. Store its path (like `"B/03"`) in `brightest`. Hint: `image.to_dask(1)[c].mean()`.
        """,
        answer="""
        brightest = ...   # the path of the brightest well, like "B/03"
        """,
        solution="""
        means = {}
        for path, well in plate.wells.items():
            img = well.images["0"]
            c = img.channel_names.index("DAPI")
            means[path] = float(img.to_dask(level=1)[c].mean().compute())
        brightest = max(means, key=means.get)
        """,
        check="""
        # check (computed another way: level 1's zarr array, without dask)
        answered("Task 5", brightest)
        expected = {p: float(np.asarray(w.images["0"].level_array(1)[0]).mean())
                    for p, w in plate.wells.items()}
        expect(brightest == max(expected, key=expected.get),
               f"Task 5: {brightest!r} is not the brightest well (use the DAPI channel, level 1)")
        print("Task 5 ok: brightest well is", brightest)
        """),
    Exercise(
        task="""
        ### Task 6: no secret in what you share

        Put together the text of everything you might paste into a chat with a colleague (the
        repr of the plate, of your credential and an error message) into a list `shared`; the
        check makes sure the password is in none of them.
        """,
        answer="""
        shared = ...   # a list of texts: repr(plate), repr(a credential), str(an error)
        """,
        solution="""
        shared = [repr(plate), repr(kit.BasicAuth("student", server.password))]
        try:
            kit.open(url)
        except kit.KitError as exc:
            shared.append(str(exc))
        """,
        check="""
        # check
        answered("Task 6", shared)
        expect(len(shared) >= 3, "Task 6: put at least three texts in the list")
        expect(not any(server.password in s for s in shared), "Task 6: a text holds the password!")
        print("Task 6 ok")
        """),
]

EXERCISES_INTRO = """
    # Exercises: exploring a remote plate

    Each task has an **answer cell** with `...` placeholders and a **check** cell right after
    it. Replace the `...` with your answer and run both: until the answer is right, the check
    stops with a one-line hint marked ✗. The solutions are in
    [05_teaching_solutions.ipynb](05_teaching_solutions.ipynb): try yourself first.
    Run the setup cell, then work top to bottom.
    """
SOLUTIONS_INTRO = """
    # Exercises: the solutions

    The tasks of [05_teaching_exercises.ipynb](05_teaching_exercises.ipynb), each answer cell
    filled in and followed by the same check cell, which passes.
    """
EXERCISES_START = """
    import numpy as np
    from kit.demo.exercises import answered, expect   # the checks' one-line hints

    plate = kit.open(url, auth=kit.BasicAuth("student", server.password))
    plate
    """


def exercise_cells(solutions: bool) -> list:
    """The learner's notebook (``solutions=False``) or the solutions, from ``EXERCISES``."""
    cells = [md(SOLUTIONS_INTRO if solutions else EXERCISES_INTRO), code(SETUP),
             code(EXERCISES_START)]
    for ex in EXERCISES:
        cells += [md(ex.task), code(ex.solution if solutions else ex.answer,
                                    tag="solution" if solutions else "answer"),
                  code(ex.check, tag="check")]
    return [*cells, code(TEARDOWN)]


# -- 06 ---------------------------------------------------------------------------------------

SERVER_CELL = '''\
# THE SERVER CELL: everything below uses only `url` (and the credential registered for it).
# Here, on this machine, as in a class: the kit's demo server plays the archive (it wants the
# instructor's token), and a classroom relay in front of it (what `ngff-kit serve --mirror`
# runs) serves the class behind a class password. The instructor's token never reaches us.
# In a class, replace this cell by the address your instructor's relay printed, e.g.
#     url = "http://10.0.0.5:8765/"
#     kit.login(url)          # then type the class password (or your token) into the form
import os, secrets

import kit
from kit.demo.real import subset_path
from kit.demo.server import DemoServer
from kit.relay import ClassPassword, Relay
from kit.relay.upstream import open_upstream

archive = DemoServer(subset_path(), auth="bearer",
                     token=os.environ.get("NGFF_KIT_DEMO_TOKEN") or secrets.token_urlsafe(16))
archive.start()
class_password = secrets.token_urlsafe(12)
server = Relay(open_upstream(archive.url, kit.BearerToken(archive.token)),
               students=ClassPassword("class", class_password), log=lambda line: None).start()
url = server.url
kit.credentials.register(url, kit.BasicAuth("class", class_password))  # what kit.login does
print("classroom relay:", url)'''

REAL_TEARDOWN = '''\
server.stop()
archive.stop()
print("relay and archive stopped")'''

REAL = [
    md("""
    # Real data: a Fractal plate of differentiating stem cells

    Human iPS cells on their way to cardiomyocytes, imaged in three channels: **DAPI** (DNA,
    every nucleus), **nanog** (a stem-cell marker that fades as cells differentiate) and
    **Lamin B1** (the nuclear envelope). The plate was processed by
    [Fractal](https://fractal-analytics-platform.github.io/): maximum-intensity projection,
    pyramid, nucleus segmentation and per-nucleus measurements, all in one OME-Zarr.

    The kit ships a small piece of it (well B/03, pyramid levels 2-4, the nuclei labels, two
    tables; under 3 MB, see `kit/demo/data/README.md`), so this notebook runs offline.
    """),
    code(SERVER_CELL, tag="server"),
    md("## Open the plate: one request per metadata document, no pixels yet"),
    code("""
    import numpy as np
    import pandas as pd
    from IPython.display import Image as PNG
    from kit.render import to_png

    plate = kit.open(url)
    plate
    """),
    md("""
    ## The plate overview

    One thumbnail per well, from the coarsest pyramid level. The grey position is well B/05:
    it is in the original plate but not in the subset shipped here.
    """),
    code("""
    PNG(to_png(kit.plate_overview(plate, max_size=600, progress=False)))
    """),
    md("## The image: channels and the pyramid"),
    code("""
    image = plate["B/03/0"]
    for ch in image.channels:
        w = ch.window
        print(f"{ch.label:9s} colour #{ch.color}  display window {w.start:g}-{w.end:g}")
    for lv in image.levels:
        x, y = lv.shape[-1], lv.shape[-2]
        print(f"level {lv.path}: {x} x {y} pixels, {lv.scale[-1]:g} µm per pixel")
    print("labels:", list(image.labels), " tables:", {n: t.kind for n, t in image.tables.items()})
    """),
    md("""
    ## One field of view with its nuclei

    The well was imaged as two fields of view; the **ROI table** says where each one lies, in
    micrometres. `roi=` previews just that region, and `labels=` outlines the segmented nuclei.
    """),
    code("""
    fovs = image.tables["FOV_ROI_table"].to_pandas()
    display(fovs[["x_micrometer", "y_micrometer", "len_x_micrometer", "len_y_micrometer"]])
    PNG(to_png(kit.preview(image, roi=fovs.loc["FOV_1"], labels="nuclei", max_size=512)))
    """),
    md("""
    ## The measurements table, in pandas

    Fractal measured every nucleus: one row per label value (`label`), with shape and
    intensity features per channel, and the field of view it lies in (`ROI_name`).
    """),
    code("""
    nuclei = image.tables["measurements"].to_pandas()
    cols = ["label", "ROI_name", "DAPI.mean_intensity", "nanog.mean_intensity"]
    display(nuclei[cols].head())
    print(len(nuclei), "nuclei measured;", nuclei.groupby("ROI_name").size().to_dict())
    """),
    md("""
    ## Labels and table together: a map of one measurement

    The label image's values are the table's `label` column, so a lookup table turns the
    label image into a map of any feature. The map of nanog shows a bright centre in each of
    the two fields of view: a pattern that follows the fields (uneven illumination), not the
    cells, which is worth correcting before comparing nuclei across a field.
    """),
    code("""
    import io
    from matplotlib.figure import Figure

    nuclei_labels = image.labels["nuclei"]
    lab = nuclei_labels.to_dask(level=0).compute()[0]            # (y, x), 0 = background
    assert set(np.unique(lab[lab > 0])) == set(nuclei["label"].astype(int))  # one row per nucleus
    lookup = np.full(int(lab.max()) + 1, np.nan)
    lookup[nuclei["label"].astype(int)] = nuclei["nanog.mean_intensity"]
    px = nuclei_labels.levels[0].scale[-1]                        # µm per pixel

    fig = Figure(figsize=(8, 3.8))
    ax = fig.add_subplot()
    ax.set_facecolor("black")
    shown = ax.imshow(lookup[lab], cmap="viridis",
                      extent=(0, lab.shape[1] * px, lab.shape[0] * px, 0))
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_title("well B/03: each nucleus coloured by its mean nanog intensity")
    fig.colorbar(shown, ax=ax, label="mean nanog intensity", shrink=0.8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", dpi=100)
    PNG(buf.getvalue())
    """),
    code(REAL_TEARDOWN),
]

NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_authenticated_http_and_s3.ipynb": AUTH,
    "03_plates_labels_tables.ipynb": PLATES,
    "04_lindi_dandi_refs.ipynb": REFS,
    "05_teaching_exercises.ipynb": exercise_cells(solutions=False),
    "05_teaching_solutions.ipynb": exercise_cells(solutions=True),
    "06_real_fractal_plate.ipynb": REAL,
}
LEARNER = "05_teaching_exercises.ipynb"  # its checks fail by design: run with allow_errors


def build(folder: Path = HERE) -> list[Path]:
    """Write every notebook (no outputs) into ``folder``; returns the paths."""
    written = []
    for name, cells in NOTEBOOKS.items():
        nb = notebook(copy.deepcopy(cells))
        for i, cell in enumerate(nb.cells):  # stable ids: rebuilding gives identical files
            cell.id = f"{Path(name).stem[:2]}{'s' if 'solutions' in name else ''}-{i:02d}"
        nbformat.validate(nb)
        path = folder / name
        path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        written.append(path)
    return written


# -- executed copies for readers (docs/notebooks) -----------------------------------------------
# A reader of the repository sees every notebook with its outputs and pictures, without running
# it. The copies are made by executing the sources, then made stable: demo secrets are made up
# for the run and checked absent, widget views (unrenderable outside Jupyter) are reduced to
# their text, and what differs between machines (loopback ports, temp and home folders) is
# replaced by fixed stand-ins.

DOCS = HERE.parent / "docs" / "notebooks"
DEMO_SECRETS = ("NGFF_KIT_DEMO_PASSWORD", "NGFF_KIT_DEMO_TOKEN", "NGFF_KIT_DEMO_S3_SECRET")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
LOOPBACK_PORT = re.compile(r"(?<=127\.0\.0\.1:)\d+|(?<=localhost:)\d+")
ADDRESS = re.compile(r" at 0x[0-9a-f]{6,}")


def execute(path: Path, *, kernel_name: str = "python3", cwd: Path | None = None,
            timeout: int = 300, store_widget_state: bool = False) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in a fresh kernel (the learner's with errors allowed)."""
    import nbclient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="ngff-kit-nb-") as tmp:
        client = nbclient.NotebookClient(
            nb, timeout=timeout, kernel_name=kernel_name, record_timing=False,
            allow_errors=path.name == LEARNER, store_widget_state=store_widget_state,
            resources={"metadata": {"path": str(cwd or tmp)}})
        client.execute()
    return nb


def _stable_text(text: str, ports: dict[str, str]) -> str:
    for folder, stand_in in ((str(HERE.parent), "<repo>"), (tempfile.gettempdir(), "<tmp>"),
                             (str(Path.home()), "~")):
        text = re.sub(re.escape(folder) + r"(/[^/\s'\"<>]*ngff-kit-[^/\s'\"<>]*)?", stand_in, text)
    text = LOOPBACK_PORT.sub(lambda m: ports.setdefault(m.group(0), str(8001 + len(ports))), text)
    return ADDRESS.sub(" at 0x...", text)


def _stable(value: object, ports: dict[str, str]) -> object:
    if isinstance(value, str):
        return _stable_text(value, ports)
    if isinstance(value, list):
        return [_stable(v, ports) for v in value]
    if isinstance(value, dict):
        return {k: v if k.startswith("image/") else _stable(v, ports) for k, v in value.items()}
    return value


def stabilise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The executed notebook as stored for readers (see the comment above)."""
    ports: dict[str, str] = {}
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        merged: list = []  # a print's lines may arrive in one message or several
        for out in cell.outputs:
            out.get("data", {}).pop(WIDGET_VIEW, None)
            if merged and out.output_type == "stream" == merged[-1].output_type and (
                    out.name == merged[-1].name):
                merged[-1].text += out.text
            else:
                merged.append(out)
        cell.outputs = nbformat.from_dict(_stable(merged, ports))
    return nb


def preview_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the code cells that display a picture (their copies must hold a PNG)."""
    return [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "PNG(" in c.source]


def render_docs(folder: Path = DOCS, *, kernel_name: str = "python3") -> list[Path]:
    """Execute every notebook with made-up demo secrets; store the stable copies in ``folder``."""
    pinned = {var: f"{var.rsplit('_', 1)[-1].lower()}-{secrets.token_urlsafe(16)}"
              for var in DEMO_SECRETS}
    saved = {var: os.environ.get(var) for var in pinned}
    os.environ.update(pinned)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    try:
        for name in NOTEBOOKS:
            nb = stabilise(execute(HERE / name, kernel_name=kernel_name))
            text = nbformat.writes(nb)
            leaked = [var for var, value in pinned.items() if value in text]
            if leaked:
                raise RuntimeError(f"{name}: the executed copy holds {leaked}; not written")
            missing = [i for i in preview_cells(nb) if not any(
                "image/png" in o.get("data", {}) for o in nb.cells[i].outputs)]
            if missing:
                raise RuntimeError(f"{name}: preview cells {missing} drew no picture")
            path = folder / name
            path.write_text(text + "\n", encoding="utf-8")
            written.append(path)
    finally:
        for var, value in saved.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
    (folder / "README.md").write_text(docs_index(), encoding="utf-8")
    return written


def docs_index() -> str:
    """docs/notebooks/README.md: the executed notebooks, one line each."""
    lines = ["# The tutorial notebooks, executed", "",
             "Stored with their outputs so they can be read without running them. Generated by",
             "`python notebooks/build.py --execute` from `notebooks/build.py`; do not edit by hand",
             "(tests/test_notebooks.py checks they match the sources). To run them yourself, open",
             "the copies in `notebooks/` (no outputs) or launch Binder (see docs/teaching.md).", ""]
    for name, cells in NOTEBOOKS.items():
        title = cells[0].source.splitlines()[0].lstrip("# ").strip()
        lines.append(f"- [{title}]({name})")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=HERE,
                        help="where to write the notebooks (default: notebooks/)")
    parser.add_argument("--execute", action="store_true",
                        help="also execute them; store the copies with outputs in docs/notebooks/")
    args = parser.parse_args(argv)
    for p in build(args.folder):
        print("wrote", p)
    if args.execute:
        for p in render_docs():
            print("executed", p)


if __name__ == "__main__":
    main(sys.argv[1:])
