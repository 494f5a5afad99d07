# Shared by the top-level Makefile and mk/chapter.mk: which chapters, which implementation, where output goes.

# Chapters are the folders chapters/NN-name that hold a chapter.conf.
ALL_CHS := $(patsubst chapters/%/chapter.conf,%,$(sort $(wildcard chapters/[0-9][0-9]-*/chapter.conf)))

# CH=01 or CH=01-ownership-buffers selects one chapter; empty selects all.
CH ?=
ifeq ($(strip $(CH)),)
CHS := $(ALL_CHS)
else
CHS := $(filter $(CH) $(CH)-%,$(ALL_CHS))
ifeq ($(CHS),)
$(error no chapter matches CH=$(CH); the chapters are: $(ALL_CHS))
endif
endif

# IMPL: where the chapter sources come from — chapters (the student's, default) or solutions (the reference).
# Any directory laid out like chapters/ works too, e.g. an unpacked submission.
IMPL ?= chapters
ifeq ($(wildcard $(IMPL)/.),)
$(error IMPL=$(IMPL) is not a directory; use IMPL=chapters or IMPL=solutions)
endif
IMPL_TAG := $(subst /,_,$(patsubst %/,%,$(IMPL)))

BUILD ?= build

# Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org).
ifeq ($(NO_COLOR),)
FT_TTY := $(shell [ -t 1 ] && echo yes)
endif
ifeq ($(FT_TTY),yes)
C_BOLD := \033[1m
C_RED := \033[31m
C_GREEN := \033[32m
C_OFF := \033[0m
endif

# gcc unless the caller picks another compiler (make's built-in default is plain `cc`).
ifeq ($(origin CC),default)
CC := gcc
endif
CC_NAME := $(notdir $(firstword $(CC)))

# V=1 shows full compiler command lines.
Q := $(if $(V),,@)
