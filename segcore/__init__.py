"""segcore: the logic of the segmentation work dashboard, with no user interface of its own.

The Streamlit pages and the command line call these functions; segcore never imports Streamlit.
"""

from segcore.auth import (AppUser, add_user, authenticate, list_users, remove_user,
                          session_expired, set_password, set_role)
from segcore.batch_import import (BatchEntry, ImportResult, import_batches, import_from_sources,
                                  parse_batches_json, read_batches_file, scan_data_directory)
from segcore.batch_table import edits_from_changes, export_csv, table_row
from segcore.batches import (PRIORITIES, STATUSES, UNASSIGNED, BatchPage, BatchQuery,
                             ChangeResult, Conflict, Edit, apply_edits, assign, balance_pending,
                             build_filter, get_batches, list_batches, next_pending_ids,
                             open_workloads, plan_balance)
from segcore.config import Settings, describe, load_settings, settings_from
from segcore.connection import (Databases, Health, check_health, create_client,
                                driver_error_message, friendly_errors, mask_uri, open_databases,
                                scrub)
from segcore.actors import COORDINATOR, ROLES, VIEWER, Actor
from segcore.errors import (AccountLocked, BatchNotFound, ConfigError, DatabaseUnavailable,
                            DemoRefused, DuplicateMember, EmbeddedServerError, ImportFileError,
                            LoginFailed, MemberNotFound, PermissionDenied, SegcoreError,
                            SyncAlreadyRunning, ValidationError)
from segcore.history import Change, list_history
from segcore.naming import batch_ids_in, canonical_batch_id, person_key
from segcore.progress import (Burndown, burndown, filter_rows, kpis, per_segmentador,
                              progress_rows, sync_age, upload_rows, uploads_per_day)
from segcore.schedule import SyncScheduler
from segcore.setup import prepare
from segcore.stats import Summary, summary
from segcore.sync import SyncReport, last_run, list_runs, run_sync
from segcore.uploads import Upload, recent_uploads, resolve_batch_ids
from segcore.team import Member, add_member, edit_member, find_member, list_members, remove_member
