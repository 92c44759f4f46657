"""Lifeboat: a Nova-compatible compute service in which every instance can be
live-migrated, rescued ones included."""
import warnings

# The oslo stack imports eventlet helpers we never use (we run on threads).
warnings.filterwarnings("ignore", message=r"(?s)\s*Eventlet is deprecated")
warnings.filterwarnings("ignore", category=DeprecationWarning, module="oslo_.*")

__version__ = "0.1.0"
