"""0.6 scenes: a group whose `scene` block places member images in shared coordinate systems.

``Scene.images`` are the member images the transforms name (read together; one that is missing
or unreadable is a KitWarning and left out, so the rest still shows). ``Scene.placement(path)``
is the mapping from that image's level indices to the scene's coordinate system: the image's
own chain to the system the scene names, then the scene's transforms.
"""

from __future__ import annotations

import asyncio
import warnings

from kit.errors import KitError, KitWarning, NotFound
from kit.io.loop import run_sync
from kit.ngff.models import CoordinateSystem, SceneMeta
from kit.ngff.scene import scene_chain
from kit.ngff.transforms import Mapping
from kit.nodes.base import Node, NodeMap, load_node, register
from kit.nodes.image import Image


@register
class Scene(Node):
    """A scene (NGFF 0.6 ``scene``): member images placed in one coordinate system."""

    kind = "scene"
    parts = ("images",)
    meta: SceneMeta

    @property
    def coordinate_systems(self) -> list[CoordinateSystem]:
        """The scene's own coordinate systems (may be empty: it then shows a member's)."""
        return list(self.meta.scene.coordinate_systems)

    @property
    def target(self) -> str:
        """The name of the coordinate system the scene is shown in."""
        path, name = self.meta.scene.target
        return f"{path}/{name}" if path else name

    @property
    def images(self) -> dict[str, Image]:
        return self._sync("images", self.aimages)

    async def aimages(self) -> dict[str, Image]:
        return await self._async("images", self._load_images)

    async def _load_images(self) -> dict[str, Image]:
        paths = self.meta.scene.image_paths
        results = await asyncio.gather(*(load_node(self.location.child(p)) for p in paths),
                                       return_exceptions=True)
        images: NodeMap[Image] = NodeMap(what="scene image", where=self.url)
        for path, result in zip(paths, results):
            if isinstance(result, Image):
                images[path] = result
            elif isinstance(result, KitError):
                what = "missing" if isinstance(result, NotFound) else "unreadable"
                warnings.warn(f"{self.url}: scene image {path!r} is {what} ({result.message}); "
                              "shown without it", KitWarning, stacklevel=3)
            elif isinstance(result, Node):
                warnings.warn(f"{self.url}: scene member {path!r} is a {result.kind}, not an "
                              "image; shown without it", KitWarning, stacklevel=3)
            else:
                raise result
        return images

    @property
    def members(self) -> dict[str, Image]:
        """The images, as a group's members (what a browser lists)."""
        return self.images

    def placement(self, path: str, level: int = 0) -> Mapping:
        """Mapping from image ``path``'s level indices to the scene's coordinate system."""
        return run_sync(self.aplacement(path, level))

    async def aplacement(self, path: str, level: int = 0) -> Mapping:
        image = (await self.aimages())[path]
        scene = self.meta.scene
        names = [n for t in scene.transforms
                 for p, n in ((t.input_path, t.input), (t.output_path, t.output)) if p == path]
        system = names[0] if names else None
        own = await image.atransform(level, to=system)
        chain = scene_chain(scene, (path, system or ""), scene.target)
        if chain is None:
            raise NotFound(f"no scene transformation leads from {path!r} ({system!r}) to "
                           f"{self.target!r}", where=self.url)
        return Mapping(own.source, self.target, own.transforms + chain, own.ndim,
                       own.parameters)

    def _summary(self) -> str:
        n = len(self.meta.scene.image_paths)
        return f"NGFF {self.version} scene of {n} image(s) in {self.target!r}"
