"""The pipe's modes: what they share (`base`) and the sync stages (`sync`); check and rollback live in
`pipe.preflight` and `pipe.recovery`. The table of modes is `pipe.flow.MODES`."""
