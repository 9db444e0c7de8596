"""The visual API programs call (``ImagePatch`` …) and the backends that answer it."""
