"""Sub-commands of ``tarif``: one module each, discovered by :mod:`oms_host.cli`."""
