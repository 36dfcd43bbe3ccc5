from tend.community.models.care import *  # noqa: F403
from tend.community.models.pods import *  # noqa: F403
