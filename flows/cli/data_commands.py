"""Commands about data: `probes validate`, `probes import-coco`, `db upgrade`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from flows.cli.app import EXIT_BAD_INPUT, EXIT_OK, db_app, probes_app
from flows.cli.guard import fail, guarded, settings


@probes_app.command("validate")
@guarded
def probes_validate(folder: Path = typer.Argument(..., help="Probe set folder.")) -> int:
    """Validate a probe set folder exactly as the audit reads it (every image and mask decoded); exit 2
    when invalid, with one line per problem naming its file and line."""
    settings()
    from auditors.probes import ProbeSetError, load_probe_set

    try:
        probe_set = load_probe_set(folder)
    except ProbeSetError as error:
        for problem in error.problems:
            typer.echo(f"  - {problem}", err=True)
        count = len(error.problems)
        fail(f"probe set {folder} is invalid ({count} problem{'' if count == 1 else 's'})", EXIT_BAD_INPUT)
    n_objects = sum(len(probe.objects) for probe in probe_set.probes)
    typer.echo(f"probe set {folder} is valid: {probe_set.name}@{probe_set.version}, {len(probe_set.probes)} probes, "
               f"{n_objects} objects with masks, content hash {probe_set.content_hash[:12]}")
    return EXIT_OK


@probes_app.command("import-coco")
@guarded
def probes_import_coco(
    instances: Path = typer.Option(..., "--instances", help="COCO instances JSON (boxes/segmentations)."),
    images: Path = typer.Option(..., "--images", help="Folder of the COCO images."),
    out: Path = typer.Option(..., "--out", help="Probe set folder to write."),
    captions: Optional[Path] = typer.Option(None, "--captions", help="COCO captions JSON (optional)."),
    name: str = typer.Option("coco", "--name", help="Probe set name."),
    version: str = typer.Option("1", "--version", help="Probe set version."),
    prompt: str = typer.Option("Describe the image.", "--prompt", help="Prompt of every probe."),
    limit: Optional[int] = typer.Option(None, "--limit", min=1, help="Keep the first N images."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing probe set folder."),
    source: Optional[str] = typer.Option(None, "--source", help="Where the images came from (default: the file's info)."),
    licence: Optional[str] = typer.Option(None, "--licence", help="Their terms (default: the imported images' licenses)."),
) -> int:
    """Build a probe set (images, masks, probes.jsonl) from COCO-format annotation files."""
    settings()
    from auditors.probes.coco import import_coco

    probe_set = import_coco(instances, captions, images, out, name=name, version=version, prompt=prompt,
                            limit=limit, overwrite=overwrite, source=source, licence=licence)
    typer.echo(f"wrote probe set {probe_set.name}@{probe_set.version} ({len(probe_set.probes)} probes) to {out}")
    return EXIT_OK


@db_app.command("upgrade")
@guarded
def db_upgrade(db: Optional[str] = typer.Option(None, "--db", help="Database URL.")) -> int:
    """Create or migrate the audit database to the current schema."""
    resolved_settings = settings(db_url=db)
    from storage.migrate import upgrade

    revision = upgrade(resolved_settings.storage_url())
    typer.echo(f"database at schema revision {revision}")
    return EXIT_OK
