"""The ids Slack sends back to us: commands, action ids, view and shortcut callback ids."""

from __future__ import annotations

# slash commands (declared in manifest.yml)
PROJECT_COMMAND = "/project"
STORY_COMMAND = "/story"
AUTODEV_COMMAND = "/autodev"
COMMANDS = (PROJECT_COMMAND, STORY_COMMAND, AUTODEV_COMMAND)

# shortcuts (declared in manifest.yml)
CREATE_STORY_FROM_MESSAGE = "create_story_from_message"  # message shortcut
NEW_STORY_SHORTCUT = "new_story"  # global shortcut
GENERATE_FROM_MESSAGE = "generate_stories_from_message"  # message shortcut, issue 4
SHORTCUTS = {
    CREATE_STORY_FROM_MESSAGE: "message",
    NEW_STORY_SHORTCUT: "global",
    GENERATE_FROM_MESSAGE: "message",
}

# events (declared in manifest.yml)
EVENTS = ("app_home_opened", "app_uninstalled", "tokens_revoked")

# modals (view callback ids)
PROJECT_MODAL = "project_modal"
STORY_MODAL = "story_modal"
ASSIGN_MODAL = "assign_modal"

# story card actions
STORY_STATUS = "story_status"
STORY_ASSIGN = "story_assign"
STORY_EDIT = "story_edit"
STORY_DELETE = "story_delete"
# the Definition of Ready (issue 16): a held move's confirmation, and Improve with Claude
STORY_MOVE_ANYWAY = "story_move_anyway"
STORY_MOVE_CANCEL = "story_move_cancel"
STORY_IMPROVE = "story_improve"
# list paging
PAGE_NEXT = "page_next"
PAGE_PREVIOUS = "page_previous"
# App Home and messages
HOME_NEW_STORY = "home_new_story"
HOME_NEW_PROJECT = "home_new_project"
PROJECT_DELETE = "project_delete"

ACTIONS = (
    STORY_STATUS,
    STORY_ASSIGN,
    STORY_EDIT,
    STORY_DELETE,
    STORY_MOVE_ANYWAY,
    STORY_MOVE_CANCEL,
    STORY_IMPROVE,
    PAGE_NEXT,
    PAGE_PREVIOUS,
    HOME_NEW_STORY,
    HOME_NEW_PROJECT,
    PROJECT_DELETE,
)
VIEWS = (PROJECT_MODAL, STORY_MODAL, ASSIGN_MODAL)

# AI story generation (issue 4): the ask, review buttons, feedback and edit modals
AI_GENERATE_MODAL = "ai_generate_modal"
AI_FEEDBACK_MODAL = "ai_feedback_modal"
AI_EDIT_DRAFT_MODAL = "ai_edit_draft_modal"
AI_DRAFT_SAVE = "ai_draft_save"
AI_DRAFT_EDIT = "ai_draft_edit"
AI_DRAFT_DISCARD = "ai_draft_discard"
AI_DRAFT_SPLIT = "ai_draft_split"
AI_SAVE_ALL = "ai_save_all"
AI_REGENERATE = "ai_regenerate"
AI_RETRY = "ai_retry"
AI_IMPROVE_REPLACE = "ai_improve_replace"
AI_IMPROVE_KEEP = "ai_improve_keep"
AI_ACTIONS = (
    AI_DRAFT_SAVE,
    AI_DRAFT_EDIT,
    AI_DRAFT_DISCARD,
    AI_DRAFT_SPLIT,
    AI_SAVE_ALL,
    AI_REGENERATE,
    AI_RETRY,
    AI_IMPROVE_REPLACE,
    AI_IMPROVE_KEEP,
)
AI_VIEWS = (AI_GENERATE_MODAL, AI_FEEDBACK_MODAL, AI_EDIT_DRAFT_MODAL)
ACTIONS = ACTIONS + AI_ACTIONS
VIEWS = VIEWS + AI_VIEWS
