"""Tempest plugin for Lifeboat: the live-migrate-rescued-instances blueprint's
own API tests (microversion 2.105), run beside Tempest's compute tests.

Enable it with the `tempest.test_plugins` entry point
(``lifeboat = lifeboat_tempest_plugin.plugin:LifeboatTempestPlugin``) and
``[lifeboat] rescued_live_migration = True`` in tempest.conf.
"""
