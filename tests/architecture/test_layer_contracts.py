"""The layer rules are code: import-linter's contracts (.importlinter) hold on the tree, and the rooms
contract really reports an app that reaches into another app's internals."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PYTHONPATH": f"{cwd}:{ROOT}", "PATH": "/usr/bin:/bin"},
    )


def test_the_tree_keeps_its_layer_and_room_contracts():
    result = lint_imports(ROOT, ROOT / ".importlinter")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.fixture
def toy_project(tmp_path):
    """Two layers with two apps each; `upper.shop.services` reaches into `lower.store.backends`."""
    files = {
        "upper/__init__.py": "",
        "upper/shop/__init__.py": "",
        "upper/shop/services.py": "from lower.store import backends\nfrom lower.store import selectors\n",
        "lower/__init__.py": "",
        "lower/store/__init__.py": "",
        "lower/store/backends.py": "",
        "lower/store/selectors.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    config = tmp_path / ".importlinter"
    config.write_text(
        textwrap.dedent("""\
        [importlinter]
        root_packages =
            upper
            lower
        contract_types =
            app_boundaries: tests.architecture.contracts.AppBoundariesContract

        [importlinter:contract:rooms]
        name = rooms
        type = app_boundaries
        public_modules =
            services
            selectors
            models
        """)
    )
    return tmp_path, config


def test_an_app_importing_another_apps_internals_breaks_the_rooms_contract(toy_project):
    cwd, config = toy_project
    result = lint_imports(cwd, config)
    assert result.returncode == 1
    assert "upper.shop.services imports lower.store.backends" in result.stdout
    assert "lower.store.selectors" not in result.stdout.split("Broken contracts")[-1]
