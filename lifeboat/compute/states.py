"""The instance state model (as Nova's vm_states, task_states and power_state) and
the API status derived from it.

One deliberate extension: a rescued instance that is live-migrating shows
MIGRATING (Nova shows RESCUE for every rescued instance).
"""

# vm_state
ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
RESCUED = "rescued"
RESIZED = "resized"
SOFT_DELETED = "soft-delete"
DELETED = "deleted"
ERROR = "error"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"

# task_state
SCHEDULING = "scheduling"
SPAWNING = "spawning"
REBOOTING = "rebooting"
REBOOT_PENDING = "reboot_pending"
REBOOT_STARTED = "reboot_started"
REBOOTING_HARD = "rebooting_hard"
REBOOT_PENDING_HARD = "reboot_pending_hard"
REBOOT_STARTED_HARD = "reboot_started_hard"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"
MIGRATING = "migrating"
DELETING = "deleting"
REBUILDING = "rebuilding"

# power_state (Nova's numbering, shown as OS-EXT-STS:power_state)
NOSTATE = 0
RUNNING = 1
PAUSED_POWER = 3
SHUTDOWN = 4
CRASHED = 6
SUSPENDED_POWER = 7

POWER_STATE_NAMES = {NOSTATE: "pending", RUNNING: "running", PAUSED_POWER: "paused",
                     SHUTDOWN: "shutdown", CRASHED: "crashed",
                     SUSPENDED_POWER: "suspended"}

# (vm_state -> {task_state -> status, "default": status}), as Nova's _STATE_MAP.
_STATE_MAP = {
    ACTIVE: {"default": "ACTIVE", REBOOTING: "REBOOT", REBOOT_PENDING: "REBOOT",
             REBOOT_STARTED: "REBOOT", REBOOTING_HARD: "HARD_REBOOT",
             REBOOT_PENDING_HARD: "HARD_REBOOT", REBOOT_STARTED_HARD: "HARD_REBOOT",
             REBUILDING: "REBUILD", MIGRATING: "MIGRATING"},
    BUILDING: {"default": "BUILD"},
    STOPPED: {"default": "SHUTOFF", REBUILDING: "REBUILD"},
    RESIZED: {"default": "VERIFY_RESIZE"},
    PAUSED: {"default": "PAUSED", MIGRATING: "MIGRATING"},
    SUSPENDED: {"default": "SUSPENDED"},
    RESCUED: {"default": "RESCUE", MIGRATING: "MIGRATING"},
    ERROR: {"default": "ERROR", REBUILDING: "REBUILD"},
    DELETED: {"default": "DELETED"},
    SOFT_DELETED: {"default": "SOFT_DELETED"},
    SHELVED: {"default": "SHELVED"},
    SHELVED_OFFLOADED: {"default": "SHELVED_OFFLOADED"},
}


def status_from_state(vm_state, task_state=None):
    """API status for a (vm_state, task_state) pair."""
    task_map = _STATE_MAP.get(vm_state, {"default": "UNKNOWN"})
    return task_map.get(task_state, task_map["default"])


def states_from_status(status):
    """(vm_states, task_states or None) matching an API `?status=` filter value.

    task_states None means "any task_state". MIGRATING matches every vm_state with
    task_state migrating (rescued included); other statuses exclude the task
    states that would show a different status.
    """
    status = status.upper()
    vm_states, task_states = [], set()
    for vm_state, task_map in _STATE_MAP.items():
        for task_state, mapped in task_map.items():
            if mapped != status:
                continue
            if task_state == "default":
                vm_states.append(vm_state)
            else:
                task_states.add((vm_state, task_state))
    return vm_states, task_states
