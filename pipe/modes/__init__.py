"""The pipe's modes: what each `STAGE` value does (the table is `pipe.modes.table.MODES`)."""
