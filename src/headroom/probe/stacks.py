"""Where something happened: project source line, template line (Django templates and
Jinja2), and the ORM relation.

These walk the live frames with ``sys._getframe`` and are called only when an event is worth
a stack (a fingerprint crossing the N+1 threshold, a slow query, an outbound call, an email),
never per query.
"""

from __future__ import annotations

import os
from types import CodeType, FrameType
from typing import Any

from headroom.project import display_path, is_project_file

Location = dict[str, Any]

_render_annotated_codes: frozenset[CodeType] | None = None
_handler_codes: frozenset[CodeType] | None = None


def _template_codes() -> frozenset[CodeType]:
    """The code objects of Django's ``Node.render_annotated`` (imported on first use)."""
    global _render_annotated_codes
    if _render_annotated_codes is None:
        from django.template import base

        _render_annotated_codes = frozenset(
            {base.Node.render_annotated.__code__, base.TextNode.render_annotated.__code__}
        )
    return _render_annotated_codes


def _view_caller_codes() -> frozenset[CodeType]:
    """The code objects of the Django handler methods that call views: no template is
    rendered outside them, so a walk looking for one can stop there."""
    global _handler_codes
    if _handler_codes is None:
        from django.core.handlers.base import BaseHandler

        names = ("_get_response", "_get_response_async")
        _handler_codes = frozenset(
            getattr(BaseHandler, name).__code__ for name in names if hasattr(BaseHandler, name)
        )
    return _handler_codes


_COMPREHENSIONS = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>"})

#: Jinja2 compiles a template to a Python module and puts the ``jinja2.Template`` in that
#: module's globals under this name; only frames of compiled template code have it.
_JINJA_TEMPLATE = "__jinja_template__"
#: Compiled Jinja2 code -> (template name, {generated code line: template source line}).
_jinja_lines: dict[CodeType, tuple[str, dict[int, int]]] = {}
JINJA_LINES_SIZE = 1024


def _jinja_location(frame: FrameType, template: Any) -> Location | None:
    """``{"name", "line"}`` of a frame running compiled Jinja2 code: the template's loader
    name and the line of its source (the template object maps the generated code's line).

    Works on the template object found in the frame's globals, so jinja2 is never imported
    here. Remembered per code object and line: the mapping parses the template's debug info.
    """
    code = frame.f_code
    known = _jinja_lines.get(code)
    if known is None:
        name = getattr(template, "name", None) or getattr(template, "filename", None)
        if len(_jinja_lines) >= JINJA_LINES_SIZE:
            _jinja_lines.clear()  # bounded: a reloading dev server compiles templates anew
        known = _jinja_lines[code] = (str(name or code.co_filename), {})
    name, lines = known
    lineno = frame.f_lineno
    line = lines.get(lineno)
    if line is None:
        corresponding = getattr(template, "get_corresponding_lineno", None)
        if corresponding is None or lineno is None:
            return None
        line = lines[lineno] = int(corresponding(lineno))
    return {"name": name, "line": line}


def _is_jinja_frame(frame: FrameType) -> bool:
    return _JINJA_TEMPLATE in frame.f_globals


def location_of(frame: FrameType) -> Location:
    function = frame.f_code.co_name
    if function in _COMPREHENSIONS and frame.f_back is not None:
        # Python 3.11 runs a comprehension in its own frame; name the function it is in.
        function = frame.f_back.f_code.co_name
    return {
        "file": display_path(frame.f_code.co_filename),
        "line": frame.f_lineno,
        "function": function,
    }


def project_location(frame: FrameType | None) -> Location | None:
    """The innermost frame, from ``frame`` outwards, in the project's own code (a Jinja2
    template under the project is not: its frames run generated code)."""
    while frame is not None:
        if is_project_file(frame.f_code.co_filename) and not _is_jinja_frame(frame):
            return location_of(frame)
        frame = frame.f_back
    return None


def template_location(frame: FrameType | None) -> Location | None:
    """The innermost Django template node or Jinja2 template being rendered:
    ``{"name", "line"}``."""
    codes = _template_codes()
    while frame is not None:
        jinja = frame.f_globals.get(_JINJA_TEMPLATE)
        if jinja is not None:
            found = _jinja_location(frame, jinja)
            if found is not None:
                return found
        elif frame.f_code in codes:
            node = frame.f_locals.get("self")
            origin = getattr(node, "origin", None)
            token = getattr(node, "token", None)
            name = getattr(origin, "template_name", None) or getattr(origin, "name", None)
            if name is not None:
                return {"name": str(name), "line": getattr(token, "lineno", None)}
        frame = frame.f_back
    return None


def locate(frame: FrameType | None) -> tuple[Location | None, Location | None]:
    """``(project_location, template_location)`` of ``frame``, in one walk of the stack."""
    templates = _template_codes()
    stop = _view_caller_codes()
    location: Location | None = None
    template: Location | None = None
    while frame is not None:
        code = frame.f_code
        jinja = frame.f_globals.get(_JINJA_TEMPLATE)
        if jinja is not None:
            # Compiled Jinja2 code: a template line, never the project location.
            template = _jinja_location(frame, jinja)
            if template is not None:
                break
            frame = frame.f_back
            continue
        if location is None and is_project_file(code.co_filename):
            location = location_of(frame)
        if code in templates:
            template = template_location(frame)
            if template is not None:
                break  # the innermost template node; the view is further out
        if location is not None and code in stop:
            break  # past the view: no template can be rendering further out
        frame = frame.f_back
    if location is None and frame is not None:
        location = project_location(frame)
    return location, template


_RELATED_FILES = (
    os.path.join("django", "db", "models", "fields", "related_descriptors.py"),
    os.path.join("django", "db", "models", "manager.py"),
)


def _reverse_m2m_accessor(manager: Any) -> str | None:
    for rel in type(manager.instance)._meta.related_objects:
        if (
            rel.many_to_many
            and rel.related_model is manager.model
            and rel.field.name == manager.query_field_name
        ):
            return str(rel.get_accessor_name())
    return None


def _relation_of(obj: Any, frame: FrameType) -> tuple[str, str] | None:
    """Name the relation a related descriptor or related manager stands for, and the
    queryset call that loads it up front."""
    from django.db.models.fields import related_descriptors

    if isinstance(obj, related_descriptors.ForwardManyToOneDescriptor):
        name = obj.field.name
        return f"{obj.field.model.__name__}.{name}", f'select_related("{name}")'
    if isinstance(obj, related_descriptors.ReverseOneToOneDescriptor):
        name = obj.related.get_accessor_name()
        return f"{obj.related.model.__name__}.{name}", f'select_related("{name}")'
    instance = getattr(obj, "instance", None)
    if instance is None or not hasattr(obj, "core_filters"):
        return None  # a plain manager
    owner = type(instance).__name__
    accessor: str | None
    if hasattr(obj, "prefetch_cache_name") and hasattr(obj, "reverse"):  # many-to-many
        accessor = _reverse_m2m_accessor(obj) if obj.reverse else obj.prefetch_cache_name
    else:
        field = getattr(obj, "field", None)  # reverse foreign key
        accessor = field.remote_field.get_accessor_name() if field is not None else None
    if not accessor:
        return None
    # manager_method's closure names the queryset method called through the manager.
    if frame.f_code.co_name == "manager_method" and frame.f_locals.get("name") == "count":
        return f"{owner}.{accessor}", f'annotate(Count("{accessor}"))'
    return f"{owner}.{accessor}", f'prefetch_related("{accessor}")'


def relation_from_frames(frame: FrameType | None) -> tuple[str, str] | None:
    """``("Product.category", 'select_related("category")')`` when the query runs inside
    an ORM relation access."""
    while frame is not None:
        if frame.f_code.co_filename.endswith(_RELATED_FILES):
            obj = frame.f_locals.get("self")
            if obj is not None:
                found = _relation_of(obj, frame)
                if found is not None:
                    return found
        frame = frame.f_back
    return None


def relation_from_schema(table: str | None, column: str | None) -> tuple[str, str] | None:
    """``Product.reviews`` when ``table.column`` is a foreign key: a relation read once per
    parent row (reverse foreign key, or an implicit many-to-many table)."""
    if not table or not column:
        return None
    from django.apps import apps

    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table != table:
            continue
        for field in model._meta.concrete_fields:
            if field.column != column or not (field.many_to_one or field.one_to_one):
                continue
            owner = field.related_model
            if not isinstance(owner, type):
                return None
            through_of = model._meta.auto_created
            if isinstance(through_of, type):  # Product.tags' implicit table
                for m2m in through_of._meta.many_to_many:
                    if m2m.remote_field.through is model:
                        forward = owner is m2m.model
                        name = m2m.name if forward else m2m.remote_field.get_accessor_name()
                        return f"{owner.__name__}.{name}", f'prefetch_related("{name}")'
                return None
            remote = field.remote_field
            accessor = remote.get_accessor_name() if remote is not None else None
            if accessor:
                loader = "select_related" if field.one_to_one else "prefetch_related"
                return f"{owner.__name__}.{accessor}", f'{loader}("{accessor}")'
        return None
    return None
