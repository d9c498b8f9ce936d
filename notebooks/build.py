"""Write the tutorial notebooks from the cell sources below (run: ``python notebooks/build.py``).

The sources live here as plain Python strings so a review reads them as code; the ``.ipynb``
files are committed without outputs. Every notebook starts its own demo server on 127.0.0.1
(sample data in a temp folder, password on), so it runs offline, on Binder and in CI, and stops
the server at the end. The password is made up per run and never printed; CI pins it through
``NGFF_KIT_DEMO_PASSWORD`` to check that no executed notebook contains it.
"""

from __future__ import annotations

import sys
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


def code(text: str, *, hidden: bool = False) -> nbformat.NotebookNode:
    cell = new_code_cell(dedent(text).strip())
    if hidden:  # JupyterLab collapses it; the solution is still run top to bottom
        cell.metadata["jupyter"] = {"source_hidden": True}
        cell.metadata["tags"] = ["solution"]
    return cell


def notebook(cells: list) -> nbformat.NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
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
        print(f"level {lv.path}: shape {lv.shape} {lv.dtype}, chunks {lv.chunks}, pixel {lv.scale[-1]} µm")
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
    netrc_file.write_text(f"machine {urlsplit(url).hostname} login student password {server.password}\\n")
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
    token_server = DemoServer(plate_path, auth="bearer",
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
        print("moto/boto3 not installed: skipping the S3 part (pip install 'moto[server]' boto3 s3fs)")

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
        print(s3_image, "- labels:", list(s3_image.labels), "- coarsest level:", s3_image.levels[-1].shape)
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
    print(f"nucleus {nuclei_rois.index[0]}: box {pixels.shape[-2:]}, {int(mask.sum())} voxels in the mask")
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
    print("correlation stored vs measured:", round(joined["mean_intensity_DAPI"].corr(joined["measured_DAPI"]), 3))
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
    per_well = per_field.groupby("well").agg(nuclei=("nuclei", "sum"), mean_DAPI=("mean_DAPI", "mean"),
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
    assert summary.loc["B/03", "nuclei"] == len(features) + len(plate["B/03/1"].tables["nuclei_features"].to_pandas())
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
    print(len(doc["refs"]), "keys;", sum(isinstance(v, list) for v in doc["refs"].values()), "point at the server")
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
        kit.open(dandi_refs, storage_options={"dandi_instances": [archive.api_url]}).to_dask(2).compute()
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

EXERCISES = [
    md("""
    # Exercises: exploring a remote plate

    Each task has a cell for your answer and a **check** cell right after it. The solutions are
    filled in (hidden cells in JupyterLab: click the `...` to reveal them); clear them and try
    yourself first. Run the setup cell, then work top to bottom.
    """),
    code(SETUP),
    code("""
    import numpy as np
    plate = kit.open(url, auth=kit.BasicAuth("student", server.password))
    plate
    """),
    md("""
    ### Task 1: how many wells hold data?

    Some wells listed in the plate's rows/columns have no images. Store the number of wells
    with data in `n_wells`.
    """),
    code("""
    # solution
    n_wells = len(plate.wells)
    """, hidden=True),
    code("""
    # check
    assert n_wells == len(plate.rows) * len(plate.columns) - 1, "one position of the 2x3 grid is empty"
    print("Task 1 ok:", n_wells, "wells")
    """),
    md("""
    ### Task 2: the pyramid

    For field `B/04/1`, store the shape of the **coarsest** level in `coarsest_shape` and the
    pixel size in x at **level 1** (micrometres) in `pixel_x_level1`.
    """),
    code("""
    # solution
    img = plate["B/04/1"]
    coarsest_shape = img.levels[-1].shape
    pixel_x_level1 = img.levels[1].scale[img.axes.index("x")]
    """, hidden=True),
    code("""
    # check
    assert tuple(coarsest_shape) == (3, 3, 128, 128)
    assert abs(pixel_x_level1 - 0.65) < 1e-9
    print("Task 2 ok")
    """),
    md("""
    ### Task 3: one channel only

    Make a preview `rgb` of `B/04/1` showing only the GFP channel at `z=0`, at most 200 pixels.
    GFP is drawn in green, so red and blue should stay empty.
    """),
    code("""
    # solution
    rgb = kit.preview(plate["B/04/1"], channels=["GFP"], z=0, max_size=200)
    """, hidden=True),
    code("""
    # check
    assert rgb.dtype == np.uint8 and rgb.shape[2] == 3 and max(rgb.shape[:2]) <= 200
    assert rgb[..., 1].max() > 0 and rgb[..., 0].max() == 0 and rgb[..., 2].max() == 0
    print("Task 3 ok")
    """),
    md("""
    ### Task 4: count nuclei two ways

    Count the nuclei of `B/03/0` from the **label image** (its distinct non-zero values, at
    level 0: small nuclei can vanish from coarser levels) into `n_from_labels`, and from the
    **feature table** `nuclei_features` into `n_from_table`.
    """),
    code("""
    # solution
    field = plate["B/03/0"]
    lab = field.labels["nuclei"].to_dask(level=0).compute()
    n_from_labels = len(np.unique(lab[lab > 0]))
    n_from_table = len(field.tables["nuclei_features"].to_pandas())
    """, hidden=True),
    code("""
    # check
    assert n_from_labels == n_from_table > 0
    print("Task 4 ok:", n_from_labels, "nuclei")
    """),
    md("""
    ### Task 5: the brightest well

    Using level 1 of every first field (`"0"`), find the well whose mean DAPI intensity is the
    highest. Store its path (like `"B/03"`) in `brightest`. Hint: `image.to_dask(1)[c].mean()`.
    """),
    code("""
    # solution
    means = {}
    for path, well in plate.wells.items():
        img = well.images["0"]
        c = img.channel_names.index("DAPI")
        means[path] = float(img.to_dask(level=1)[c].mean().compute())
    brightest = max(means, key=means.get)
    """, hidden=True),
    code("""
    # check (computed another way: level 1's zarr array, without dask)
    expected = {p: float(np.asarray(w.images["0"].level_array(1)[0]).mean()) for p, w in plate.wells.items()}
    assert brightest == max(expected, key=expected.get)
    print("Task 5 ok: brightest well is", brightest)
    """),
    md("""
    ### Task 6: no secret in what you share

    Put together the text of everything you might paste into a chat with a colleague — the
    repr of the plate, of your credential and an error message — and check that the password
    is not in it.
    """),
    code("""
    # solution
    shared = [repr(plate), repr(kit.BasicAuth("student", server.password))]
    try:
        kit.open(url)
    except kit.KitError as exc:
        shared.append(str(exc))
    """, hidden=True),
    code("""
    # check
    assert len(shared) >= 3 and not any(server.password in s for s in shared)
    print("Task 6 ok")
    """),
    code(TEARDOWN),
]

NOTEBOOKS = {
    "01_quickstart.ipynb": QUICKSTART,
    "02_authenticated_http_and_s3.ipynb": AUTH,
    "03_plates_labels_tables.ipynb": PLATES,
    "04_lindi_dandi_refs.ipynb": REFS,
    "05_teaching_exercises.ipynb": EXERCISES,
}


def build(folder: Path = HERE) -> list[Path]:
    """Write every notebook (no outputs) into ``folder``; returns the paths."""
    written = []
    for name, cells in NOTEBOOKS.items():
        nb = notebook(cells)
        for i, cell in enumerate(nb.cells):  # stable ids: rebuilding gives identical files
            cell.id = f"{Path(name).stem[:2]}-{i:02d}"
        nbformat.validate(nb)
        path = folder / name
        path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print("wrote", p)
