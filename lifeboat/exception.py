"""Domain errors. Each carries the HTTP status it maps to; api/faults.py is the
one place that turns them into Nova fault bodies."""


class LifeboatException(Exception):
    """Base error: `msg_fmt` is formatted with the keyword arguments."""
    msg_fmt = "An unknown exception occurred."
    code = 500

    def __init__(self, message=None, **kwargs):
        self.kwargs = kwargs
        if message is None:
            try:
                message = self.msg_fmt % kwargs
            except (KeyError, TypeError):
                message = self.msg_fmt
        self.message = message
        super().__init__(message)


# 400
class Invalid(LifeboatException):
    msg_fmt = "Bad request: %(reason)s"
    code = 400


class ValidationError(Invalid):
    msg_fmt = "%(detail)s"


class InvalidInput(Invalid):
    msg_fmt = "Invalid input received: %(reason)s"


class MigrationPreCheckError(Invalid):
    msg_fmt = "Migration pre-check error: %(reason)s"


class ComputeServiceUnavailable(Invalid):
    msg_fmt = "Compute service of %(host)s is unavailable at this time."


class UnableToMigrateToSelf(Invalid):
    msg_fmt = ("Unable to migrate instance (%(instance_id)s) to current host "
               "(%(host)s).")


class InvalidHypervisorType(Invalid):
    msg_fmt = "The supplied hypervisor type of is invalid."


class ComputeHostNotFound(Invalid):
    """Raised where Nova answers 400 for an unknown destination host."""
    msg_fmt = "Compute host %(host)s could not be found."


class RescuedLiveMigrationNotSupported(Invalid):
    """The spec's 400: names whether the source or destination lacks support."""
    msg_fmt = ("Live migration of rescued instances is not supported by the "
               "%(role)s compute node %(host)s.")


class InvalidMigrationState(Invalid):
    msg_fmt = ("Migration %(migration_id)s state of instance %(instance_uuid)s "
               "is %(state)s. Cannot %(method)s while the migration is in "
               "this state.")


# 401 / 403
class Unauthorized(LifeboatException):
    msg_fmt = "Authentication required"
    code = 401


class Forbidden(LifeboatException):
    msg_fmt = "Forbidden"
    code = 403


class PolicyNotAuthorized(Forbidden):
    msg_fmt = "Policy doesn't allow %(action)s to be performed."


# 404
class NotFound(LifeboatException):
    msg_fmt = "Resource could not be found."
    code = 404


class InstanceNotFound(NotFound):
    msg_fmt = "Instance %(instance_id)s could not be found."


class FlavorNotFound(NotFound):
    msg_fmt = "Flavor %(flavor_id)s could not be found."


class ImageNotFound(NotFound):
    msg_fmt = "Image %(image_id)s could not be found."


class MigrationNotFound(NotFound):
    msg_fmt = "Migration %(migration_id)s could not be found."


class MigrationNotFoundForInstance(NotFound):
    msg_fmt = ("Migration %(migration_id)s not found for instance "
               "%(instance_id)s")


class ServiceNotFound(NotFound):
    msg_fmt = "Service %(service_id)s could not be found."


class HypervisorNotFound(NotFound):
    msg_fmt = "Hypervisor %(hypervisor_id)s could not be found."


class InstanceActionNotFound(NotFound):
    msg_fmt = "Action for request_id %(request_id)s on instance %(instance_uuid)s not found"


# 409
class Conflict(LifeboatException):
    msg_fmt = "Conflict"
    code = 409


class InstanceInvalidState(Conflict):
    msg_fmt = ("Cannot '%(method)s' instance %(instance_uuid)s while it is in "
               "%(attr)s %(state)s")


class InstanceLocked(Conflict):
    msg_fmt = "Instance %(instance_uuid)s is locked"


class UnexpectedTaskState(Conflict):
    """Raised by the compare-and-swap when another action won the race."""
    msg_fmt = "Unexpected task state: expecting %(expected)s but the actual state is %(actual)s"


class UnexpectedVMState(Conflict):
    msg_fmt = "Unexpected vm state: expecting %(expected)s but the actual state is %(actual)s"


class ImageConflict(Conflict):
    msg_fmt = "%(reason)s"


# other
class RequestTooLarge(LifeboatException):
    msg_fmt = "Request is too large."
    code = 413


class NotAcceptableVersion(LifeboatException):
    msg_fmt = ("Version %(req_ver)s is not supported by the API. Minimum is "
               "%(min_ver)s and maximum is %(max_ver)s.")
    code = 406


class UnsupportedMediaType(LifeboatException):
    msg_fmt = "Unsupported Content-Type"
    code = 415


class ServiceUnavailable(LifeboatException):
    msg_fmt = "%(reason)s"
    code = 503


class NoValidHost(LifeboatException):
    """Scheduling found no destination; never reaches HTTP directly."""
    msg_fmt = "No valid host was found. %(reason)s"
    code = 400


class MigrationError(LifeboatException):
    msg_fmt = "Migration error: %(reason)s"


class HypervisorError(LifeboatException):
    msg_fmt = "%(reason)s"
