"""The API server's bootstrap ClusterRoles and ClusterRoleBindings (data in bootstrap.yaml), as KubeObjects."""

from __future__ import annotations

from functools import cache
from importlib import resources

from lashing.analyzers.config.yamldoc import load_documents
from lashing.model import Location
from lashing.sources.cluster.snapshot import KubeObject, _bucket_lines, to_object

BUILTIN_PATH = "<kubernetes bootstrap policy>"


@cache
def builtin_objects() -> tuple[KubeObject, ...]:
    """Every bootstrap object, marked `builtin`; located at `<kubernetes bootstrap policy>:LINE`."""
    text = resources.files("lashing.sources.cluster").joinpath("bootstrap.yaml").read_text(encoding="utf-8")
    out = []
    for doc in load_documents(text):
        obj = to_object(doc.data, Location(BUILTIN_PATH, line=doc.start_line), _bucket_lines(doc.lines).get((), {}),
                        builtin=True)
        assert isinstance(obj, KubeObject), obj
        out.append(obj)
    return tuple(out)


def builtin_names(kind: str) -> frozenset[str]:
    return frozenset(o.name for o in builtin_objects() if o.kind == kind)
