"""Embedded stores (``memory://``, ``sqlite:///PATH``) and what object stores share: the
compare-and-set base (``versioned``) and the object layout and URL (``objects``)."""
