using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Hubgate.Storage.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class ModelEventTimes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "StateEventAt",
                table: "repositories",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "CommitsFetched",
                table: "pushes",
                type: "integer",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "PushedAt",
                table: "pushes",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "StateEventAt",
                table: "installations",
                type: "timestamp with time zone",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "StateEventAt",
                table: "repositories");

            migrationBuilder.DropColumn(
                name: "CommitsFetched",
                table: "pushes");

            migrationBuilder.DropColumn(
                name: "PushedAt",
                table: "pushes");

            migrationBuilder.DropColumn(
                name: "StateEventAt",
                table: "installations");
        }
    }
}
