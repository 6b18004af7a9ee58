{#
  Where a node is built: dbt's documented naming macros.

  kiln calls `generate_database_name`, `generate_schema_name` and `generate_alias_name` for every
  model, seed, snapshot and test, passing the node's `database`, `schema` and `alias` configs (none
  when unset) and the node itself. A project overrides the whole behaviour by defining a macro of
  the same name, or only the default by defining `default__generate_schema_name` (and so on).
  Whitespace around the result is trimmed by the caller, as dbt does.
#}

{# Schema: the target's schema, or `<target schema>_<custom schema>` when the node sets one. #}
{% macro generate_schema_name(custom_schema_name=none, node=none) -%}
  {{- return(adapter.dispatch('generate_schema_name', 'dbt')(custom_schema_name, node)) -}}
{%- endmacro %}

{% macro default__generate_schema_name(custom_schema_name, node) -%}
  {%- if custom_schema_name is none -%}
    {{- target.schema -}}
  {%- else -%}
    {{- target.schema ~ '_' ~ (custom_schema_name | trim) -}}
  {%- endif -%}
{%- endmacro %}

{#
  The documented alternative a project opts into by calling it from its own
  `generate_schema_name`: the custom schema verbatim on the `prod` target, the target's schema
  everywhere else.
#}
{% macro generate_schema_name_for_env(custom_schema_name, node) -%}
  {%- if target.name == 'prod' and custom_schema_name is not none -%}
    {{- custom_schema_name | trim -}}
  {%- else -%}
    {{- target.schema -}}
  {%- endif -%}
{%- endmacro %}

{# Alias: the custom alias when set, else the node's name, suffixed `_v<version>` for a versioned model. #}
{% macro generate_alias_name(custom_alias_name=none, node=none) -%}
  {{- return(adapter.dispatch('generate_alias_name', 'dbt')(custom_alias_name, node)) -}}
{%- endmacro %}

{% macro default__generate_alias_name(custom_alias_name, node) -%}
  {%- if custom_alias_name -%}
    {{- custom_alias_name | trim -}}
  {%- elif node is not none and node.version is defined and node.version is not none and node.version != '' -%}
    {#- a version such as 1.5 becomes `_v1_5`, as a dot cannot appear in an unquoted name -#}
    {{- node.name ~ '_v' ~ ((node.version ~ '') | replace('.', '_')) -}}
  {%- else -%}
    {{- node.name -}}
  {%- endif -%}
{%- endmacro %}

{# Database: the target's database unless the node sets its own. #}
{% macro generate_database_name(custom_database_name=none, node=none) -%}
  {{- return(adapter.dispatch('generate_database_name', 'dbt')(custom_database_name, node)) -}}
{%- endmacro %}

{% macro default__generate_database_name(custom_database_name, node) -%}
  {%- if custom_database_name is none -%}
    {{- target.database -}}
  {%- else -%}
    {{- custom_database_name | trim -}}
  {%- endif -%}
{%- endmacro %}
