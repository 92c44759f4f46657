"""The image service: a Glance v2-compatible subset living inside Lifeboat.

`lifeboat.image.api` is the one domain API; the HTTP handlers under /image
(lifeboat/api/handlers/images.py) and the compute side both call it, so the
visibility rules and the on-disk layout (`<state_path>/images/<id>`) exist once.
"""
