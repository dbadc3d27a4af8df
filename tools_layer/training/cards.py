"""The Markdown model card of a trained version: what trained it, on what, and how its curves went."""

from tools_layer.training.models import TrainingMetric, TrainingRun


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def curve_summary(metrics: list[TrainingMetric]) -> list[str]:
    lines = []
    for name in ("loss", "val_loss"):
        points = [(m.step, m.values[name]) for m in metrics if name in m.values]
        if not points:
            continue
        best_step, best = min(points, key=lambda point: point[1])
        lines.append(
            f"- **{name}**: {_number(points[0][1])} at step {points[0][0]} → {_number(points[-1][1])} at step "
            f"{points[-1][0]} (best {_number(best)} at step {best_step})"
        )
    for name in ("tokens_per_second", "images_per_second", "gpu_memory_mb"):
        values = [m.values[name] for m in metrics if name in m.values]
        if values:
            lines.append(f"- **{name}**: mean {_number(sum(values) / len(values))}")
    return lines


def data_lines(dataset) -> list[str]:
    """What the dataset says of where it came from, under what licence, and whether it holds personal data."""
    licence = dataset.licence or "not stated"
    if dataset.licence == "custom":
        licence = "custom: " + " ".join(dataset.licence_text.split())
    return [
        f"- **Source**: {dataset.source or 'not stated'}",
        f"- **Licence**: {licence}",
        f"- **Personal data**: {'yes' if dataset.has_personal_data else 'not declared'}",
    ]


def labels_lines(run: TrainingRun) -> list[str]:
    """Which people's judgements it learned from: the labelling project, and the filter of its export."""
    if run.labeling_project_id is None:
        return []
    project = run.labeling_project
    chosen = ", ".join(f"{name} {value}" for name, value in sorted(run.label_filter.items())) or "all judgements"
    return [
        f"- **Labelling project**: {project.name} (`{project.pk}`, {project.task_type}), {chosen}; "
        f"its judgements were exported as the dataset version below"
    ]


def model_card(*, run: TrainingRun, generator, metrics: list[TrainingMetric]) -> str:
    version = run.dataset_version
    base = (
        f"{run.base_version.generator.slug} v{run.base_version.number}"
        if run.base_version
        else "none (trained from scratch)"
    )
    final = metrics[-1].values if metrics else {}
    lines = [
        f"# {generator.name}",
        "",
        f"Trained on the platform by training job `{run.job_id}` with the **{run.recipe}** recipe.",
        "",
        "## Lineage",
        f"- **Base version**: {base}",
        f"- **Dataset version**: {version.dataset.name} v{version.number} (`{version.pk}`): "
        f"{version.train_count} training and {version.validation_count} validation examples, split with seed {version.seed}",
        *labels_lines(run),
        f"- **Training job**: `{run.job_id}`, {run.processes} process(es), {run.total_steps} steps",
        "",
        "## Data: source and licence",
        *data_lines(version.dataset),
        "",
        "## Hyperparameters",
        "| name | value |",
        "| --- | --- |",
        *[f"| {name} | {_number(value)} |" for name, value in sorted(run.hyperparameters.items())],
        "",
        "## Final metrics",
        *([f"- **{name}**: {_number(value)}" for name, value in final.items()] or ["- none recorded"]),
        "",
        "## Curves",
        *(curve_summary(metrics) or ["- no points recorded"]),
        "",
        "## Limits",
        "A small model trained on one dataset version: check its outputs before promoting it.",
    ]
    return "\n".join(lines) + "\n"
