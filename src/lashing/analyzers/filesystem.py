"""The image's layered filesystem, rebuilt from the per-layer analyses.

Layers are applied in order with OCI whiteouts: `.wh.<name>` deletes `<name>` (and everything under
it) from the layers below, `.wh..wh..opq` empties a directory of the layers below. For every path
that ever existed we keep its versions: which layer added each one and which layer deleted it, so
later scanners can report files that were deleted but still ship in the image.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from lashing.analyzers.walker import FileRecord, LayerAnalysis
from lashing.model import Layer


@dataclass(frozen=True)
class FileVersion:
    """One version of a path: the record, the layer that wrote it and, if any, the layer that removed it.

    `deleted_by` is set for whiteouts and opaque directories; `replaced_by` when a later layer wrote
    the same path again.
    """

    record: FileRecord
    added_by: Layer
    deleted_by: Layer | None = None
    replaced_by: Layer | None = None

    @property
    def visible(self) -> bool:
        return self.deleted_by is None and self.replaced_by is None


class LayeredFilesystem:
    """Applies layers in order and answers provenance questions about paths."""

    def __init__(self, layers: Sequence[tuple[Layer, LayerAnalysis]]):
        self.layers = [layer for layer, _ in layers]
        self._versions: dict[str, list[FileVersion]] = defaultdict(list)
        self._current: dict[str, FileVersion] = {}
        self._children: dict[str, set[str]] = defaultdict(set)
        for layer, analysis in layers:
            self._apply(layer, analysis)

    # -- building -------------------------------------------------------------------------------
    def _apply(self, layer: Layer, analysis: LayerAnalysis) -> None:
        for directory in analysis.opaque_dirs:
            for path in list(self._descendants(directory)):
                self._end(path, layer, deleted=True)
        for path in analysis.whiteouts:
            for sub in [path, *self._descendants(path)]:
                self._end(sub, layer, deleted=True)
        current, versions, children = self._current, self._versions, self._children
        for record in analysis.files:  # the hot loop: a base layer has tens of thousands of files
            path = record.path
            previous = current.get(path)
            if previous is not None:
                self._end(path, layer, deleted=False)
                if previous.record.kind == "dir" and record.kind != "dir":
                    for sub in list(self._descendants(path)):
                        self._end(sub, layer, deleted=True)
            version = FileVersion(record, layer)
            current[path] = version
            history = versions.get(path)
            if history is None:
                versions[path] = [version]
            else:
                history.append(version)
            siblings = children.get(parent := path.rpartition("/")[0])
            if siblings is None:
                children[parent] = {path}
            else:
                siblings.add(path)

    def _end(self, path: str, layer: Layer, *, deleted: bool) -> None:
        version = self._current.pop(path, None)
        if version is None:
            return
        ended = (
            FileVersion(version.record, version.added_by, deleted_by=layer)
            if deleted
            else FileVersion(version.record, version.added_by, replaced_by=layer)
        )
        history = self._versions[path]
        history[history.index(version)] = ended
        if deleted:
            self._children[path.rpartition("/")[0]].discard(path)

    def _descendants(self, directory: str) -> Iterator[str]:
        stack = [directory]
        while stack:
            for child in list(self._children.get(stack.pop(), ())):
                if child in self._current:
                    yield child
                    stack.append(child)

    # -- questions ------------------------------------------------------------------------------
    def visible(self, path: str) -> FileVersion | None:
        """The version of `path` a container started from the image would see, if any."""
        return self._current.get(path)

    def visible_files(self) -> Iterator[FileVersion]:
        return iter(self._current.values())

    def history(self, path: str) -> list[FileVersion]:
        """Every version of `path`, oldest first, including deleted and replaced ones."""
        return list(self._versions.get(path, ()))

    def deleted_files(self) -> Iterator[FileVersion]:
        """Versions that a later layer deleted: still in the image's blobs."""
        for versions in self._versions.values():
            for version in versions:
                if version.deleted_by is not None and version.record.kind == "file":
                    yield version
