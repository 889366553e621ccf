"""The deterministic dialogue manager: understanding + a request frame + planning the next step."""

from agent.dialogue.planner import DeterministicPlanner, resolve_choice
from agent.dialogue.turn import MENU, menu_for, welcome

__all__ = ["MENU", "DeterministicPlanner", "menu_for", "resolve_choice", "welcome"]
