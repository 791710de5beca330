"""Library errors name the parameter to change; only the CLI phrases it as a flag (issue 16)."""

import sys

import pytest

from pgpcodec.errors import CodecError, InputError
from pgpcodec.pipeline import Pipeline
from pgpcodec.server import http_error_for

from test_pipeline import PromptEcho


def _library_errors(photo):
    from pgpcodec.subprocess_codec import SubprocessCodec

    with pytest.raises(InputError) as empty_prompt:
        Pipeline(scorer=PromptEcho(), codec="jpeg", prompt_processor="none").prefilter(photo, "  ")
    with pytest.raises(InputError) as no_regions:
        Pipeline(scorer="regions", codec="jpeg").prefilter(photo, "a cup")

    class Sleeper(SubprocessCodec):
        name = "sleeper"

        def _encode(self, image, quality):
            return self.run([sys.executable, "-c", "import time; time.sleep(30)"], what="encode")

        def decode(self, data):
            raise NotImplementedError

    with pytest.raises(CodecError) as timeout:
        Sleeper(timeout=0.2).encode(photo)
    return {"prompt": empty_prompt.value, "regions": no_regions.value, "codec_options.timeout": timeout.value}


def test_library_and_http_errors_name_a_parameter_and_no_flag(photo):
    for parameter, error in _library_errors(photo).items():
        assert error.parameter == parameter
        assert "--" not in str(error), str(error)
        http = http_error_for(error)
        assert "--" not in http.message and "--" not in (http.hint or ""), http.hint


def test_the_cli_adds_the_flag(photo_path, tmp_path, run_cli):
    code, _, err = run_cli("encode", photo_path, "--scorer", "regions", "-o", tmp_path / "out.jpg")
    assert code != 0 and "--regions x0,y0,x1,y1" in err
    from pgpcodec.cli import flag_hint

    assert flag_hint(InputError("the prompt is empty", "give a prompt", parameter="prompt")) == "give a prompt: -p/--prompt TEXT"
    assert flag_hint(InputError("bad", "fix it")) == "fix it"
