"""The OpenAPI schema read as an OMS developer reads it: by a standard client generator
(openapi-python-client, offline), from the YAML and the JSON the live app serves, and by any YAML
1.1 or 1.2 reader. Written for any schema: the operations compared are the schema's own."""

import importlib
import inspect
import io
import json
import pkgutil
import subprocess
import sys

import httpx
import pytest
import yaml
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from flextracker.openapi import PATH_PARAMETERS, Yaml12SafeRenderer
from merchants.services import api_key_issue
from orders.tests.factories import create_order, ship

GENERATOR = [sys.executable, "-m", "openapi_python_client"]
PACKAGE = "flextracker_client"
# What the generator prints when it leaves out an operation or a model that one may use.
DROPPED = ("will not be generated", "has resulted in the removal of", "Unable to parse schema")
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _readers():
    """Each reader's load: PyYAML (1.1), ruamel.yaml (1.2, C and pure, as the generator reads)
    and ruamel.yaml told the document is YAML 1.1."""
    yaml_11 = YAML(typ="safe", pure=True)
    yaml_11.version = (1, 1)
    return {
        "pyyaml": yaml.safe_load,
        "ruamel-1.2": YAML(typ="safe").load,
        "ruamel-1.2-pure": YAML(typ="safe", pure=True).load,
        "ruamel-1.1": lambda text: yaml_11.load(io.StringIO(f"%YAML 1.1\n---\n{text}")),
    }


@pytest.mark.parametrize(
    "value",
    ["008", "0123456789012", "1e3", "1_0e3", "-1_0.5e3", "0o17", "0b1_0", "y", "N", "off", "~"],
)
def test_a_string_a_yaml_reader_could_take_for_another_type_is_quoted(value):
    # when
    text = Yaml12SafeRenderer().render({"enum": [value]}).decode()
    # then
    assert text == f"enum:\n- '{value}'\n"
    for name, load in _readers().items():
        assert load(text) == {"enum": [value]}, name


@given(st.text(alphabet="0123456789+-._:eExXoObBnNyY~ ", min_size=1, max_size=8))
@settings(max_examples=300, deadline=None)
def test_every_yaml_reader_reads_back_the_string_written(value):
    # when
    text = Yaml12SafeRenderer().render({"key": value}).decode()
    # then
    for name, load in _readers().items():
        assert load(text) == {"key": value}, name


def test_manage_py_spectacular_writes_the_yaml_the_api_serves(client, tmp_path):
    # when
    call_command("spectacular", "--file", str(tmp_path / "schema.yaml"))
    # then
    assert (tmp_path / "schema.yaml").read_bytes() == client.get("/api/schema/").content


def test_each_known_path_parameter_is_described_with_an_example(client):
    # when
    schema = json.loads(client.get("/api/schema/?format=json").content)
    # then
    parameters = {
        (path, parameter["name"]): parameter
        for path, path_item in schema["paths"].items()
        for method, operation in path_item.items()
        if method in HTTP_METHODS
        for parameter in operation.get("parameters", ())
        if parameter["in"] == "path" and parameter["name"] in PATH_PARAMETERS
    }
    assert parameters[("/api/v1/webhooks/{webhook_id}", "webhook_id")] == {
        "in": "path",
        "name": "webhook_id",
        "schema": {"type": "string"},
        "required": True,
        "description": "The `id` answered when the webhook was made.",
        "example": "whk_0123456789abcdef01234567",
    }
    assert [
        key for key, p in parameters.items() if not (p.get("description") and "example" in p)
    ] == []


def _operation_ids(schema: dict) -> set[str]:
    return {
        operation["operationId"]
        for path_item in schema["paths"].values()
        for method, operation in path_item.items()
        if method in HTTP_METHODS
    }


def _generated_modules() -> dict:
    """One module per operation under <package>.api.<tag>, each with its four functions."""
    api = importlib.import_module(f"{PACKAGE}.api")
    modules = {}
    for module_info in pkgutil.walk_packages(api.__path__, f"{PACKAGE}.api."):
        if module_info.ispkg:
            continue
        module = importlib.import_module(module_info.name)
        assert all(
            callable(getattr(module, name, None))
            for name in ("sync", "sync_detailed", "asyncio", "asyncio_detailed")
        ), module_info.name
        modules[module_info.name.rsplit(".", 1)[1]] = module
    return modules


def _generate(tmp_path, schema_text: bytes, suffix: str) -> str:
    """Runs the generator on the schema (a file it reads by its suffix); returns what it printed.
    The package is then tmp_path/<PACKAGE>."""
    source = tmp_path / f"schema.{suffix}"
    source.write_bytes(schema_text)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"package_name_override": PACKAGE, "post_hooks": []}))
    arguments = ["--path", source, "--output-path", tmp_path / "out", "--meta", "none"]
    generated = subprocess.run(
        [*GENERATOR, "generate", *map(str, arguments), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    output = generated.stdout + generated.stderr
    assert generated.returncode == 0, output
    (tmp_path / "out").rename(tmp_path / PACKAGE)
    return output


@pytest.fixture
def import_generated(tmp_path):
    """Imports the generated package from tmp_path, and forgets it afterwards."""
    sys.path.insert(0, str(tmp_path))
    yield lambda: importlib.import_module(PACKAGE)
    sys.path.remove(str(tmp_path))
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


@pytest.mark.parametrize("query, suffix", [("", "yaml"), ("?format=json", "json")])
def test_the_schema_generates_a_client_with_every_operation(
    client, tmp_path, import_generated, query, suffix
):
    # given the schema the live app serves
    response = client.get(f"/api/schema/{query}")
    assert response.status_code == 200
    schema = json.loads(response.content) if suffix == "json" else yaml.safe_load(response.content)
    # when
    output = _generate(tmp_path, response.content, suffix)
    # then
    assert not [marker for marker in DROPPED if marker in output], output
    import_generated()
    assert set(_generated_modules()) == _operation_ids(schema)


class _DjangoClientTransport(httpx.BaseTransport):
    """Carries the generated client's requests through Django's test client, so they see the
    test's database."""

    def __init__(self, client):
        self.client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        headers = {
            name: value
            for name, value in request.headers.items()
            if name not in ("host", "content-length", "content-type")
        }
        answer = self.client.generic(
            request.method,
            request.url.raw_path.decode(),
            request.read(),
            request.headers.get("content-type", "application/octet-stream"),
            headers=headers,
        )
        return httpx.Response(answer.status_code, headers=answer.items(), content=answer.content)


def test_the_generated_client_reads_what_the_api_answers(
    client, tmp_path, import_generated, merchant
):
    # given a merchant with an order shipped, and the client generated from the served schema
    create_order(merchant, "1001")
    ship(merchant, "1001", "SBXDELIVERED0001", ("MUG", 1))
    _generate(tmp_path, client.get("/api/schema/?format=json").content, "json")
    package = import_generated()
    _api_key, raw_key = api_key_issue(merchant=merchant)
    oms = package.AuthenticatedClient(
        base_url="http://testserver",
        token=raw_key,
        raise_on_unexpected_status=True,
        httpx_args={"transport": _DjangoClientTransport(client)},
    )
    # when every GET that needs no argument is called through it
    answers = {
        name: module.sync_detailed(client=oms)
        for name, module in _generated_modules().items()
        if _needs_only_a_client(module.sync_detailed) and module._get_kwargs()["method"] == "get"
    }
    # then each answer is read into the generated model of its 200
    assert answers
    for name, answer in answers.items():
        assert answer.status_code == 200, (name, answer.content)
        assert answer.parsed is not None, name
        assert answer.parsed.success is True, name
    orders = answers["order_list"].parsed.data
    assert [order.order_id for order in orders] == ["1001"]


def _needs_only_a_client(function) -> bool:
    parameters = inspect.signature(function).parameters.values()
    return all(p.name == "client" or p.default is not p.empty for p in parameters)
