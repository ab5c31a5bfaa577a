"""Compose the core's replies and alerts as neutral ``Message`` values.

Pure functions from domain values to messages; every adapter renders the
result. One module a kind of message: ``base`` (the shared pieces and the
deadline's cards), ``positions`` (the matrix, the form, asks), ``alerts``
(countdowns, the deadline itself, catch-ups), ``sealed`` (receipts, the reveal,
the final matrix) and ``notices`` (what the asked are told). Callers use
``from bot import views`` and the names below; ``escalation`` (the ladder's
rungs and the manual nudge) is imported as a module by the few that use it.
"""

from bot.views.alerts import (
    alert_headline as alert_headline,
)
from bot.views.alerts import (
    catch_up_alert as catch_up_alert,
)
from bot.views.alerts import (
    catch_up_note as catch_up_note,
)
from bot.views.alerts import (
    countdown_alert as countdown_alert,
)
from bot.views.alerts import (
    deadline_reached as deadline_reached,
)
from bot.views.alerts import (
    reached_headline as reached_headline,
)
from bot.views.base import (
    ACTION_BRIEF as ACTION_BRIEF,
)
from bot.views.base import (
    ACTION_CHOOSE_TIME as ACTION_CHOOSE_TIME,
)
from bot.views.base import (
    ACTION_OPEN_FORM as ACTION_OPEN_FORM,
)
from bot.views.base import (
    ACTION_STANCE as ACTION_STANCE,
)
from bot.views.base import (
    CLOSED as CLOSED,
)
from bot.views.base import (
    CORE_ACTIONS as CORE_ACTIONS,
)
from bot.views.base import (
    FORM_POSITION as FORM_POSITION,
)
from bot.views.base import (
    HISTORY_LIMIT as HISTORY_LIMIT,
)
from bot.views.base import (
    LIST_LIMIT as LIST_LIMIT,
)
from bot.views.base import (
    MATRIX_LIMIT as MATRIX_LIMIT,
)
from bot.views.base import (
    NO_SILENCE as NO_SILENCE,
)
from bot.views.base import (
    ON_TIME as ON_TIME,
)
from bot.views.base import (
    brief_button as brief_button,
)
from bot.views.base import (
    channel as channel,
)
from bot.views.base import (
    countdown as countdown,
)
from bot.views.base import (
    deadline_card as deadline_card,
)
from bot.views.base import (
    deadline_list as deadline_list,
)
from bot.views.base import (
    deadline_summary as deadline_summary,
)
from bot.views.base import (
    due_line as due_line,
)
from bot.views.base import (
    error_message as error_message,
)
from bot.views.base import (
    info_message as info_message,
)
from bot.views.base import (
    mention as mention,
)
from bot.views.base import (
    owner_names as owner_names,
)
from bot.views.base import (
    position_buttons as position_buttons,
)
from bot.views.base import (
    rescheduled_card as rescheduled_card,
)
from bot.views.base import (
    rules_text as rules_text,
)
from bot.views.base import (
    shown_status as shown_status,
)
from bot.views.base import (
    silence_rule_text as silence_rule_text,
)
from bot.views.base import (
    time_choices as time_choices,
)
from bot.views.base import (
    upcoming_reminders as upcoming_reminders,
)
from bot.views.notices import (
    NOTICE_LIMIT as NOTICE_LIMIT,
)
from bot.views.notices import (
    notice_message as notice_message,
)
from bot.views.positions import (
    ask_direct_message as ask_direct_message,
)
from bot.views.positions import (
    deadline_details as deadline_details,
)
from bot.views.positions import (
    nudge_message as nudge_message,
)
from bot.views.positions import (
    position_form as position_form,
)
from bot.views.positions import (
    position_matrix as position_matrix,
)
from bot.views.positions import (
    position_tally as position_tally,
)
from bot.views.positions import (
    position_value as position_value,
)
from bot.views.positions import (
    silence_text as silence_text,
)
from bot.views.positions import (
    waiting_for as waiting_for,
)
from bot.views.sealed import (
    extended_by_silence as extended_by_silence,
)
from bot.views.sealed import (
    final_matrix as final_matrix,
)
from bot.views.sealed import (
    receipt as receipt,
)
from bot.views.sealed import (
    sealed_notice as sealed_notice,
)
