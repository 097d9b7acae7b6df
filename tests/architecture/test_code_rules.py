"""Rules checked by reading the code under app/. Each test names the rule it proves."""

from __future__ import annotations

import ast

from tests.architecture.source import dotted_name, imported_modules, modules, where

BLOCKING_MODULES = ("requests", "psycopg2", "psycopg", "urllib.request", "httplib2", "pymysql")
BLOCKING_CALLS = {"time.sleep", "sleep", "open", "input"}
SYNC_ORM = {"Session", "sessionmaker", "create_engine", "scoped_session"}
# The unit of work used by requests, jobs and the CLI alike.
COMMIT_OWNERS = {"app/db/session.py"}


def test_asy2_no_blocking_clients_or_calls() -> None:
    found = []
    for module in modules():
        for line, name, names in imported_modules(module):
            if name.startswith(BLOCKING_MODULES):
                found.append(f"{module.path}:{line} imports {name}")
            if name in ("sqlalchemy", "sqlalchemy.orm") and SYNC_ORM & set(names):
                found.append(f"{module.path}:{line} imports a sync ORM API from {name}")
            if name == "redis" and "Redis" in names:
                found.append(f"{module.path}:{line} imports the sync Redis client")
        found += [
            f"{where(module, call)} calls {dotted_name(call.func)}"
            for call in module.calls()
            if dotted_name(call.func) in BLOCKING_CALLS
        ]
    assert not found, found


def test_db5_no_legacy_query_api() -> None:
    found = [
        where(module, call)
        for module in modules()
        for call in module.calls()
        if isinstance(call.func, ast.Attribute) and call.func.attr == "query"
    ]
    assert not found, found


def test_db3_commit_only_in_its_owner() -> None:
    found = [
        where(module, call)
        for module in modules()
        for call in module.calls()
        if isinstance(call.func, ast.Attribute) and call.func.attr == "commit" and str(module.path) not in COMMIT_OWNERS
    ]
    assert not found, found


def test_db6_no_create_all_in_the_app() -> None:
    found = [
        where(module, call)
        for module in modules()
        for call in module.calls()
        if isinstance(call.func, ast.Attribute) and call.func.attr in ("create_all", "drop_all")
    ]
    assert not found, found


def test_err5_no_print() -> None:
    found = [
        where(module, call) for module in modules() for call in module.calls() if dotted_name(call.func) == "print"
    ]
    assert not found, found


def test_sch7_no_json_encoders() -> None:
    found = [
        where(module, node)
        for module in modules()
        for node in module.nodes()
        if isinstance(node, ast.keyword | ast.Constant)
        and "json_encoders" in ((node.arg or "") if isinstance(node, ast.keyword) else str(node.value))
    ]
    assert not found, found


def test_dep2_dependencies_use_the_annotated_form() -> None:
    found = []
    for module in modules():
        for node in module.nodes():
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                defaults = [*node.args.defaults, *node.args.kw_defaults]
                found += [
                    f"{where(module, node)} {node.name}"
                    for default in defaults
                    if isinstance(default, ast.Call) and dotted_name(default.func) in ("Depends", "Security")
                ]
    assert not found, found


def test_dep10_middleware_is_pure_asgi() -> None:
    found = [
        f"{module.path}:{line}"
        for module in modules()
        for line, name, names in imported_modules(module)
        if "BaseHTTPMiddleware" in names or name.endswith("middleware.base")
    ]
    assert not found, found


def test_api8_other_layers_are_imported_by_module_name() -> None:
    """`from app.services import users as users_service`, never `from app.services.users import create`."""
    found = []
    for module in modules():
        for line, name, names in imported_modules(module):
            if "*" in names:
                found.append(f"{module.path}:{line} star import")
            layer = next((layer for layer in ("app.services", "app.repositories") if name.startswith(layer)), None)
            if layer and not module.name.startswith(layer) and name != layer:
                found.append(f"{module.path}:{line} from {name} import {', '.join(names)}")
    assert not found, found


def test_db4_routers_build_no_queries() -> None:
    allowed = {"AsyncSession", "exc"}  # the session type for signatures, the exception module for handlers
    found = [
        f"{module.path}:{line} from {name} import {', '.join(names)}"
        for module in modules()
        if module.name.startswith("app.api")
        for line, name, names in imported_modules(module)
        if name.startswith("sqlalchemy") and not set(names) <= allowed
    ]
    assert not found, found


def test_err6_no_catch_all_around_handler_bodies() -> None:
    found = []
    for module in modules():
        if not module.name.startswith("app.api.v1"):
            continue
        for node in module.nodes():
            if isinstance(node, ast.ExceptHandler):
                caught = dotted_name(node.type) if node.type else "bare except"
                if caught in ("Exception", "BaseException", "bare except"):
                    found.append(f"{where(module, node)} catches {caught}")
    assert not found, found


# The only work a request may leave to `BackgroundTasks`: each is lost harmlessly with its process.
BACKGROUND_TASKS_ALLOWED = frozenset(
    {
        "audit_service.record",  # an audit line
        "personal_access_tokens_service.record_use",  # a token's `last_used_at`, to the minute
    }
)


def test_job1_background_tasks_only_write_the_audit_trail() -> None:
    """Work whose loss is not acceptable goes through the outbox; `add_task` is for audit lines and usage stamps."""
    found = [
        where(module, call)
        for module in modules()
        for call in module.calls()
        if isinstance(call.func, ast.Attribute)
        and call.func.attr == "add_task"
        and not (call.args and dotted_name(call.args[0]) in BACKGROUND_TASKS_ALLOWED)
    ]
    assert not found, found
