using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Hubgate.Storage.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class ModelEventTimes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "StateEventAt",
                table: "repositories",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<int>(
                name: "CommitsFetched",
                table: "pushes",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<long>(
                name: "PushedAt",
                table: "pushes",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "StateEventAt",
                table: "installations",
                type: "INTEGER",
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
