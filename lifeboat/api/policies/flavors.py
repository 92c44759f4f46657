"""Flavor policies."""
from lifeboat.api.policies import ANY, rule

RULES = [
    rule("os_compute_api:flavors:index", ANY, "List flavors",
         [("GET", "/flavors"), ("GET", "/flavors/detail")]),
    rule("os_compute_api:flavors:show", ANY, "Show a flavor",
         [("GET", "/flavors/{flavor_id}")]),
    rule("os_compute_api:os-flavor-extra-specs:index",
         "rule:project_reader_or_admin", "Show flavor extra specs in flavor views",
         [("GET", "/flavors/{flavor_id}")]),
]
