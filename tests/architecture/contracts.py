"""An import-linter contract for the rooms of each layer: an app may import another app's public
modules (`services`, `selectors`, `models`), a package's own entry point (`models_layer.runtime`), a
layer's shared modules (`applications.writing`) and the spine named in `shared_modules`; nothing else
of another app. The modules named in `wiring_modules` (the root URL conf) connect apps' views by design.

An app is a package two levels down (`tools_layer.datasets`); everything below it is its inside.
"""

from __future__ import annotations

import grimp
from importlinter import Contract, ContractCheck, fields, output
from importlinter.domain.helpers import module_expressions_to_modules


def _room(module: str) -> str:
    return ".".join(module.split(".")[:2])


class AppBoundariesContract(Contract):
    type_name = "app_boundaries"

    public_modules = fields.ListField(subfield=fields.StringField())
    shared_modules = fields.ListField(subfield=fields.ModuleExpressionField(), required=False)
    wiring_modules = fields.ListField(subfield=fields.StringField(), required=False)

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        shared = {module.name for module in module_expressions_to_modules(graph, self.shared_modules or [])}
        public = set(self.public_modules)
        wiring = set(self.wiring_modules or [])
        broken = []
        for importer in sorted(graph.modules - wiring):
            for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                parts = imported.split(".")
                if len(parts) <= 2 or _room(importer) == _room(imported) or imported in shared:
                    continue
                if parts[2] in public:
                    continue
                details = graph.get_import_details(importer=importer, imported=imported)
                lines = sorted({detail["line_number"] for detail in details})
                broken.append({"importer": importer, "imported": imported, "lines": lines})
        return ContractCheck(kept=not broken, metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for item in check.metadata["broken"]:
            lines = ", ".join(f"l.{line}" for line in item["lines"])
            output.print_error(
                f"{item['importer']} imports {item['imported']} ({lines}): "
                f"use {_room(item['imported'])}'s services, selectors or models",
                bold=False,
            )
            output.new_line()
