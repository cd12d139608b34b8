"""The Flask extensions Hocvu uses, created unbound and initialised by init_app()."""

from __future__ import annotations

from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from lms.app.csrf import KeptCSRFProtect
from lms.app.database import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
babel = Babel()
login_manager = LoginManager()
csrf = KeptCSRFProtect()
