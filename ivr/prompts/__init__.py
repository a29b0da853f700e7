"""Prompt texts (data), their rendering to audio, and the loaded prompt set.

``texts`` reads ``config/prompts/<language>.yaml``; ``build`` renders it with
espeak-ng and sox (the package's only outside contact); ``promptset`` loads the
WAVs for playback.
"""

from ivr.prompts.build import build_prompts
from ivr.prompts.errors import PromptError
from ivr.prompts.promptset import PromptSet
from ivr.prompts.texts import PromptTexts, Tone, load_prompt_texts

__all__ = ["PromptError", "PromptSet", "PromptTexts", "Tone", "build_prompts", "load_prompt_texts"]
