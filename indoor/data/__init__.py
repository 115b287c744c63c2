"""Data: layouts on disk (:mod:`.layouts`), image loading (:mod:`.images`), the synthetic demo (:mod:`.synthetic`)."""
